"""`/healthz`: is the database reachable and the schema in place."""
from __future__ import annotations

from flask import Blueprint, jsonify

from gisdb.engine import ping

from .caching import CACHE_CONTROL
from .services import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    info = ping(services().engine)   # raises DatabaseUnavailable -> JSON 503
    resp = jsonify({"status": "ok", "database": "up", **info})
    resp.headers["Cache-Control"] = CACHE_CONTROL["never"]
    return resp
