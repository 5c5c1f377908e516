"""`GET /auth/me`: who the server takes the caller for (401 when anonymous)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from gisdb.errors import Unauthorized

from .authz import current_principal, writes_enabled
from .caching import CACHE_CONTROL

bp = Blueprint("auth", __name__)


@bp.get("/auth/me")
def me():
    """The caller's name, kind, roles per layer and whether the server accepts writes."""
    principal = current_principal()
    if principal is None:
        raise Unauthorized("send 'Authorization: Bearer <key or token>' to be known")
    resp = jsonify({"name": principal.name, "kind": principal.kind,
                    "roles": dict(sorted(principal.roles.items())), "writes": writes_enabled()})
    resp.headers["Cache-Control"] = CACHE_CONTROL["private"]
    return resp
