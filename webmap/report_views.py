"""`/reports/ward/{code}` and `/reports/district/{code}`: a unit's planning report as
JSON, a printable HTML page with charts (Chart.js, served from npm), CSV, XLSX or PDF.
One call into `layers.planning.reports`; tagged by the data versions of the layers the
report reads, so a current copy is a 304 that computes nothing."""
from __future__ import annotations

import hashlib
import re

from flask import Blueprint, request

from gisdb.engine import db_errors
from gisdb.errors import InvalidParameter, NotFound
from gisdb.versions import table_versions
from layers.planning.reports import unit_report
from layers.planning.reports.render import render
from layers.planning.reports.tables import MEDIA_TYPES
from layers.registry import get_layer

from .api.response import ApiResponse
from .caching import make_tag
from .responses import respond
from .services import services

bp = Blueprint("reports", __name__)
FORMATS = ("json", "html", "csv", "xlsx", "pdf")
LAYERS = ("admin_units", "parcels", "buildings", "permits", "incidents", "roads")
DERIVED = ("planning.violations",)
SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")


def _format() -> str:
    """The requested format; unknown parameters and formats are a 400."""
    unknown = set(request.args) - {"f"}
    if unknown:
        raise InvalidParameter("unknown parameter(s): " + ", ".join(sorted(unknown))[:200])
    fmt = request.args.get("f", "json")
    if fmt not in FORMATS:
        raise InvalidParameter("f must be one of " + ", ".join(FORMATS))
    return fmt


def _rendered(report: dict, fmt: str, level: str) -> ApiResponse:
    """The report in `fmt`: an HTML page from its template, or the bytes of the others
    (files named for the unit, offered as downloads)."""
    if fmt == "html":
        return ApiResponse(media_type="text/html", template="reports/report.html",
                           document={**report, "_ctx": {"level": level}})
    headers = {}
    if fmt != "json":
        name = SAFE_NAME.sub("_", f"report-{level}-{report['unit']['code']}")
        headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return ApiResponse(body=render(report, fmt), media_type=MEDIA_TYPES[fmt], headers=headers)


@bp.get("/reports/<level>/<code>")
def report_view(level: str, code: str):
    """GET /reports/{ward|district}/{code}[?f=json|html|csv|xlsx|pdf]."""
    fmt = _format()
    if level not in ("ward", "district"):
        raise NotFound("reports are of a ward or a district")
    tables = sorted({get_layer(n).table_name for n in LAYERS} | set(DERIVED))
    with db_errors(), services().engine.connect() as conn:
        versions = sorted(table_versions(conn, tables).items())
        tag = make_tag(versions, request.path, fmt, hashlib.sha256(code.encode()).hexdigest())
        return respond(ApiResponse(etag=tag, later=lambda: _rendered(
            unit_report(conn, level, code), fmt, level)), "data")
