"""`/collections/{layer}/items/{id}/history`: a feature's versions, newest first, each
with what it changed (gisdb.history.feature_history), paged; JSON or HTML."""
from __future__ import annotations

import sqlalchemy as sa

from gisdb.engine import db_errors
from gisdb.errors import NotFound
from gisdb.history.feature_history import feature_history
from layers.layer import Layer
from layers.registry import get_layer, is_derived

from ..caching import make_tag
from .items import parse_feature_id
from .links import link, self_and_alternate, with_query
from .params import _int, only_known, output_format
from .response import GEOJSON, HTML, JSON, ApiResponse
from .table_state import table_state

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000


def history_layer(layer_id: str) -> Layer:
    """The layer whose history is asked for. Hook for access rules: a layer hidden from
    the caller (branch access) must answer 404 here, as its items do; so does a derived
    layer (the violations), which keeps no history."""
    layer = get_layer(layer_id)
    if is_derived(layer):
        raise NotFound(f"layer {layer_id!r} is derived from other layers and keeps no history")
    return layer


def _page(given: dict[str, str]) -> tuple[int, int]:
    limit = _int("limit", given["limit"], 1, MAX_LIMIT) if "limit" in given else DEFAULT_LIMIT
    offset = _int("offset", given["offset"], 0) if "offset" in given else 0
    return limit, offset


def _links(url: str, fmt: str, limit: int, offset: int, matched: int, feature_url: str) -> list[dict]:
    query = f"limit={limit}" + (f"&offset={offset}" if offset else "")
    links = self_and_alternate(url, query, fmt)
    kind = JSON if fmt == "json" else HTML
    suffix = "&f=html" if fmt == "html" else ""
    if offset + limit < matched:
        links.append(link(with_query(url, f"limit={limit}&offset={offset + limit}") + suffix, "next", kind,
                          "older versions"))
    if offset > 0:
        links.append(link(with_query(url, f"limit={limit}&offset={max(0, offset - limit)}") + suffix, "prev",
                          kind, "newer versions"))
    return links + [link(feature_url, "about", GEOJSON, "the feature")]


def feature_versions(engine: sa.Engine, layer_id: str, feature_id: str, pairs: list[tuple[str, str]], *,
                     base: str, accept_html: bool) -> ApiResponse:
    """The history page of one feature; NotFound (404) for an id that never existed."""
    layer = history_layer(layer_id)
    given = only_known(pairs, ("f", "limit", "offset"))
    fmt = output_format(given.get("f"), accept_html)
    limit, offset = _page(given)
    fid = parse_feature_id(feature_id)
    with db_errors(), engine.connect() as conn:
        version = table_state(conn, layer).version
    tag = make_tag("history", layer.id, fid, version, limit, offset, fmt, base)
    return ApiResponse(etag=tag, later=lambda: _answer(engine, layer, fid, fmt, limit, offset, base))


def _answer(engine: sa.Engine, layer: Layer, fid: int, fmt: str, limit: int, offset: int,
            base: str) -> ApiResponse:
    with db_errors(), engine.connect() as conn:
        entries = feature_history(conn, layer.table, layer.id, fid)
    feature_url = f"{base}/collections/{layer.id}/items/{fid}"
    page = entries[offset:offset + limit]
    doc = {"layer": layer.id, "id": fid, "versions": page, "numberMatched": len(entries),
           "numberReturned": len(page),
           "links": _links(feature_url + "/history", fmt, limit, offset, len(entries), feature_url)}
    if fmt == "html":
        return ApiResponse(media_type=HTML, document={**doc, "_ctx": {"layer": layer}},
                           template="ogc/history.html")
    return ApiResponse(media_type=JSON, document=doc)
