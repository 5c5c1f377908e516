"""Writes over HTTP: OGC API - Features Part 4 on `/collections/{layer}/items[/{id}]`,
`POST /transactions`, the feature schema the edit forms read, and the admins' `/audit`.
Each view authorises (webmap.authz: 401 without a credential, 403 without the role or
while GISDB_WRITES is off), reads the request's parts and makes one call into
`webmap.api.writes`; writes run on the write role's engine and are never cached."""
from __future__ import annotations

import uuid

from flask import Blueprint, request

from gisdb.access.principal import Principal
from gisdb.attribution import Writer
from layers.registry import get_layer, layer_ids

from .api import audit as api_audit
from .api import writes as api_writes
from .api.feature_schema import feature_schema
from .authz import require
from .responses import respond, respond_write
from .services import services

bp = Blueprint("writes", __name__)
MAX_HEADER_TEXT = 500


def _base() -> str:
    return request.host_url.rstrip("/") + request.script_root


def _header(name: str) -> str | None:
    value = request.headers.get(name)
    return value[:MAX_HEADER_TEXT] if value else None


def _request(principal: Principal) -> api_writes.WriteRequest:
    """The parts of this request a write reads, and who writes (the key's name or the
    token's subject; `X-Request-Id` or a new one; the optional `X-Comment`)."""
    writer = Writer(actor=principal.subject, source="api",
                    request_id=_header("X-Request-Id") or uuid.uuid4().hex,
                    comment=_header("X-Comment"), remote_addr=request.remote_addr)
    return api_writes.WriteRequest(
        body=request.get_data(cache=False), media_type=request.headers.get("Content-Type"),
        content_crs=request.headers.get("Content-Crs"), if_match=request.headers.get("If-Match"),
        base=_base(), writer=writer)


def _write(layer_id: str, op: str, feature_id: str | None = None):
    layer = get_layer(layer_id)
    principal = require([layer.id], "edit")
    return respond_write(api_writes.write_feature(services().write_engine(), layer.id, op,
                                                  _request(principal), feature_id))


@bp.post("/collections/<layer_id>/items")
def create(layer_id: str):
    return _write(layer_id, "create")


@bp.put("/collections/<layer_id>/items/<feature_id>")
def replace(layer_id: str, feature_id: str):
    return _write(layer_id, "replace", feature_id)


@bp.patch("/collections/<layer_id>/items/<feature_id>")
def update(layer_id: str, feature_id: str):
    return _write(layer_id, "update", feature_id)


@bp.delete("/collections/<layer_id>/items/<feature_id>")
def delete(layer_id: str, feature_id: str):
    return _write(layer_id, "delete", feature_id)


@bp.post("/transactions")
def transaction():
    """Several creates, replaces, updates and deletes across layers, all or nothing."""
    req = _request(require([], "edit"))      # writes on and a credential, before the body
    actions = api_writes.transaction_actions(req)
    require(sorted({a["collection"] for a in actions}), "edit")
    return respond_write(api_writes.transaction(services().write_engine(), actions, req))


@bp.get("/collections/<layer_id>/schema")
def schema(layer_id: str):
    return respond(feature_schema(layer_id, list(request.args.items(multi=True)), base=_base()),
                   "document")


@bp.get("/audit")
def audit():
    """The audit trail, for admins of the layers it shows (all layers without `layer`)."""
    pairs = list(request.args.items(multi=True))
    q = api_audit.trail_query(pairs)
    require([q.layer] if q.layer else layer_ids(), "admin", write=False)
    return respond_write(api_audit.audit_page(services().write_engine(), q, pairs, _base()))
