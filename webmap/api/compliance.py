"""`/collections/{layer}/items/{id}/compliance`: a feature's verdict against the
planning rules (layers.planning.compliance), as JSON; tagged by the data versions of
the layers the rules read, so a cached verdict follows edits."""
from __future__ import annotations

import json

import sqlalchemy as sa

from gisdb.engine import db_errors
from gisdb.errors import InvalidParameter
from gisdb.versions import table_versions
from layers.planning.compliance import verdict
from layers.planning.rules import RULES
from layers.registry import get_layer

from ..caching import make_tag
from .items import parse_feature_id
from .params import only_known
from .response import JSON, ApiResponse


def compliance(engine: sa.Engine, layer_id: str, feature_id: str, pairs: list[tuple[str, str]]) -> ApiResponse:
    """The verdict of one feature (404 for an unknown layer or feature, 400 for an
    unknown parameter or a format other than JSON)."""
    layer = get_layer(layer_id)
    fid = parse_feature_id(feature_id)
    given = only_known(pairs, ("f",))
    if given.get("f", "json").lower() != "json":
        raise InvalidParameter("f must be json")
    read = sorted({get_layer(lid).table_name for r in RULES.values() if r.target_layer == layer.id
                   for lid in r.layers} | {layer.table_name})
    with db_errors(), engine.connect() as conn:
        versions = table_versions(conn, read)
        doc = verdict(conn, layer.id, fid)
    body = json.dumps(doc, ensure_ascii=False).encode()
    return ApiResponse(media_type=JSON, body=body, etag=make_tag("compliance", layer.id, fid, versions))
