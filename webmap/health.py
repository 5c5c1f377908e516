"""`/healthz`: is the database reachable and the schema in place."""
from __future__ import annotations

from flask import Blueprint

from gisdb.engine import ping

from .responses import json_document, respond
from .services import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    info = ping(services().engine)   # raises DatabaseUnavailable -> JSON 503
    return respond(json_document({"status": "ok", "database": "up", **info}, tagged=False), "never")
