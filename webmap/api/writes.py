"""OGC API - Features Part 4 (create, replace, update, delete) and the transaction
endpoint, framework-free: each function takes the request's parts (a `WriteRequest`)
and returns an `ApiResponse`; the views only authorise and call. Bodies are GeoJSON
(`application/geo+json` or `application/json`; a PATCH is a JSON Merge Patch,
`application/merge-patch+json`), geometries in CRS84 or in the `Content-Crs`. A change
of an existing feature needs `If-Match` (428 without, 412 when stale). Every write is one
database transaction on the write role, attributed and audited (gisdb.editing)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import groupby

import sqlalchemy as sa

from gisdb.attribution import Writer
from gisdb.crs import Crs, crs_from_uri
from gisdb.editing import Batch, Result, parse_change, version_from_etag, write_batches
from gisdb.editing.changes import OPS
from gisdb.editing.write import single_statement
from gisdb.engine import db_errors
from gisdb.errors import InvalidParameter, PreconditionRequired, UnsupportedMediaType
from layers.importing import import_target
from layers.planning.violations import refresh_written
from layers.registry import get_layer
from tiles.overviews import refresh_soon

from ..caching import versioned_etag_header, versioned_tag
from ..request_body import json_body
from .items import default_query, feature_tag, parse_feature_id
from .response import JSON, ApiResponse

FEATURE_TYPES = ("application/geo+json", "application/json")
PATCH_TYPES = ("application/merge-patch+json",)
MAX_ACTIONS = 5000


@dataclass(frozen=True)
class WriteRequest:
    """What a write view reads from its request."""

    body: bytes
    media_type: str | None
    content_crs: str | None
    if_match: str | None
    base: str
    writer: Writer


def _decoded(req: WriteRequest, allowed: tuple[str, ...]):
    media = (req.media_type or "").split(";")[0].strip().lower()
    if media not in allowed:
        raise UnsupportedMediaType(f"the body must be {' or '.join(allowed)}, not {media[:60] or 'missing'}")
    return json_body(req.body)


def _crs(req: WriteRequest) -> Crs:
    raw = (req.content_crs or "").strip()
    return crs_from_uri(raw.removeprefix("<").removesuffix(">") or None, name="Content-Crs")


def _expected(if_match: str | None, index: int = 0) -> str:
    version = version_from_etag(if_match)
    if version is None:
        raise PreconditionRequired("changing an existing feature needs If-Match with the ETag it "
                                   "was read with", field="If-Match", rule="if_match_required",
                                   action=index)
    return version


def _answer(result: Result, base: str, status: int) -> ApiResponse:
    """201 (with Location and the new feature's ETag) or 204; never cached."""
    url = f"{base}/collections/{result.layer}/items/{result.feature_id}"
    headers = {"Location": url} if status == 201 else {}
    if result.version is None:
        return ApiResponse(status=status, media_type=None, headers=headers)
    tag = feature_tag(result.layer, result.feature_id, default_query(get_layer(result.layer)), "json", base)
    if status == 201:
        body = {"id": result.feature_id, "repairs": result.repairs}
        return ApiResponse(status=201, headers=headers, body=_json_bytes(body), etag=tag,
                           version=result.version)
    return ApiResponse(status=status, media_type=None, headers=headers, etag=tag, version=result.version)


def _json_bytes(doc) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


def _run(engine: sa.Engine, writer: Writer, batches: list[Batch]) -> list[Result]:
    """One transaction; a write that is a single statement runs in autocommit (no
    BEGIN and COMMIT round trips: the statement is its own transaction)."""
    if single_statement(batches):
        with db_errors(), engine.connect() as conn:
            results = write_batches(conn.execution_options(isolation_level="AUTOCOMMIT"), writer, batches)
    else:
        with db_errors(), engine.begin() as conn:
            results = write_batches(conn, writer, batches)
    refresh_written(engine, [(r.layer, r.feature_id) for r in results])
    refresh_soon(engine, [r.layer for r in results])
    return results


def write_feature(engine: sa.Engine, layer_id: str, op: str, req: WriteRequest,
                  feature_id: str | None = None) -> ApiResponse:
    """POST (create), PUT (replace), PATCH (update) or DELETE of one feature."""
    layer = get_layer(layer_id)
    fid = None if feature_id is None else parse_feature_id(feature_id)
    expected = None if op == "create" else _expected(req.if_match)
    body = None
    if op != "delete":
        body = _decoded(req, PATCH_TYPES if op == "update" else FEATURE_TYPES)
    target = import_target(layer.id)
    crs = _crs(req)
    change = parse_change(op, body, columns=target.column_names, crs=crs, feature_id=fid,
                          expected=expected)
    result = _run(engine, req.writer, [Batch(target, op, [change], crs.srid)])[0]
    return _answer(result, req.base, 201 if op == "create" else 204)


def _action(raw, index: int) -> dict:
    if not isinstance(raw, dict) or raw.get("op") not in OPS:
        raise InvalidParameter(f"action {index}: an object with op one of {', '.join(OPS)}")
    if not isinstance(raw.get("collection"), str):
        raise InvalidParameter(f"action {index}: collection (a layer id) is required")
    get_layer(raw["collection"])
    if raw["op"] != "create" and raw.get("id") is None:
        raise InvalidParameter(f"action {index}: id is required for {raw['op']}")
    return raw


def transaction_actions(req: WriteRequest) -> list[dict]:
    """The actions of a `POST /transactions` body, checked for shape (the views
    authorise their collections before anything runs)."""
    doc = _decoded(req, ("application/json",))
    actions = doc.get("actions") if isinstance(doc, dict) else None
    if not isinstance(actions, list) or not actions:
        raise InvalidParameter('the body must be {"actions": [...]} with at least one action')
    if len(actions) > MAX_ACTIONS:
        raise InvalidParameter(f"at most {MAX_ACTIONS} actions per transaction")
    return [_action(a, i) for i, a in enumerate(actions)]


def _change(action: dict, index: int, crs: Crs):
    op, target = action["op"], import_target(action["collection"])
    fid = None if op == "create" else parse_feature_id(str(action["id"]))
    expected = None if op == "create" else _expected(action.get("if_match"), index)
    body = action.get("patch") if op == "update" else action.get("feature")
    return target, parse_change(op, body, columns=target.column_names, crs=crs, feature_id=fid,
                                expected=expected, index=index)


def transaction(engine: sa.Engine, actions: list[dict], req: WriteRequest) -> ApiResponse:
    """Run `actions` all or nothing: consecutive actions on one collection with one op
    are one statement; the answer lists each action's id and new ETag."""
    crs = _crs(req)
    changes = [_change(a, i, crs) for i, a in enumerate(actions)]
    batches = []
    for (layer_id, op), group in groupby(changes, key=lambda tc: (tc[0].layer_id, tc[1].op)):
        group = list(group)
        batches.append(Batch(group[0][0], op, [c for _, c in group], crs.srid))
    results = _run(engine, req.writer, batches)
    queries = {layer_id: default_query(get_layer(layer_id)) for layer_id in {r.layer for r in results}}
    out = []
    for r in results:
        entry = {"op": r.op, "collection": r.layer, "id": r.feature_id}
        if r.version is not None:
            tag = feature_tag(r.layer, r.feature_id, queries[r.layer], "json", req.base)
            entry["etag"] = versioned_etag_header(versioned_tag(r.version, tag))
        if r.repairs:
            entry["repairs"] = r.repairs
        out.append(entry)
    return ApiResponse(media_type=JSON, body=_json_bytes({"results": out}))
