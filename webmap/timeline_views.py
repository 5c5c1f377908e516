"""`GET /history/timeline`: the span of the recorded history and the changes per day, for
the map's time control (layers.history_timeline). Tagged by the layers' data versions,
which every recorded change bumps."""
from __future__ import annotations

import json

from flask import Blueprint, request

from gisdb.engine import db_errors
from gisdb.errors import InvalidParameter
from gisdb.versions import table_versions
from layers.history_timeline import history_timeline
from layers.registry import ALL_LAYERS

from .api.params import only_known, output_format
from .api.response import ApiResponse
from .caching import make_tag
from .responses import respond
from .services import services

bp = Blueprint("timeline", __name__)


@bp.get("/history/timeline")
def timeline_view():
    """The earliest recorded instant, now, and the changed rows per day (UTC)."""
    given = only_known(list(request.args.items(multi=True)), ("f",))
    if output_format(given.get("f"), False) != "json":
        raise InvalidParameter("f must be json")
    with db_errors(), services().engine.connect() as conn:
        versions = table_versions(conn, sorted({layer.table_name for layer in ALL_LAYERS}))
        tag = make_tag("timeline", sorted(versions.items()))
        return respond(ApiResponse(etag=tag, later=lambda: ApiResponse(body=json.dumps(
            history_timeline(conn)).encode())), "data")
