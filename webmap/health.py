"""`/healthz`: is the database reachable and the schema in place."""
from __future__ import annotations

from flask import Blueprint

from gisdb.engine import ping

from .responses import json_document, respond
from .services import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The primary's versions (DatabaseUnavailable -> JSON 503 when it is down), and each
    read replica's state and lag when GISDB_READ_URL names some."""
    found = services()
    info = ping(found.primary)
    if found.router is not None:
        info["replicas"] = found.router.report()
    return respond(json_document({"status": "ok", "database": "up", **info}, tagged=False), "never")
