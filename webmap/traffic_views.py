"""HTTP endpoints of the live traffic data: a station's counts as a time series
(`GET /collections/traffic_stations/items/{id}/counts`, JSON or CSV), the IOC's batches of
hourly observations (`POST` on the same path), and the traffic of a ward and its road
segments (`GET /query/traffic`). Each view checks its parameters (unknown ones are
400), makes one call into `layers.counts`, and answers with an ETag that follows the
data versions of the counts and the stations (304 on If-None-Match)."""
from __future__ import annotations

import json
import re
import uuid

from flask import Blueprint, Response, jsonify, request

from gisdb.attribution import Writer
from gisdb.engine import db_errors
from gisdb.errors import InvalidParameter, UnsupportedMediaType
from gisdb.versions import table_versions
from layers.counts import buckets, observations, series, wards
from layers.counts.upsert import write_counts
from layers.registry import get_layer

from .api.items import parse_feature_id
from .api.response import JSON, ApiResponse
from .authz import require
from .caching import CACHE_CONTROL, make_tag
from .request_body import json_body
from .responses import respond
from .services import services

bp = Blueprint("traffic", __name__)
STATION_LAYER = "traffic_stations"
COUNTS_PATH = "/collections/" + STATION_LAYER + "/items/<station>/counts"
CSV_TYPE = "text/csv; charset=utf-8"
SERIES_PARAMS = {"datetime", "step", "f"}
WARD_PARAMS = {"ward", "datetime", "step", "f"}
WARD_CODE = re.compile(r"[0-9A-Za-z_-]{1,20}")
COUNTS_TABLE = "traffic.traffic_counts"
COUNTS_TABLES = [COUNTS_TABLE, get_layer(STATION_LAYER).table_name]


def _params(allowed: set[str]) -> dict:
    """The query string as a dict; an unknown or repeated name is a 400."""
    unknown = set(request.args) - allowed
    if unknown:
        raise InvalidParameter("unknown parameter(s): " + ", ".join(sorted(unknown))[:200])
    for name in request.args:
        if len(request.args.getlist(name)) > 1:
            raise InvalidParameter(f"{name} is given more than once")
    return dict(request.args.items())


def _media(p: dict) -> str:
    """'csv' or 'json', from `f` or else the Accept header (JSON by default)."""
    f = p.get("f")
    if f is not None:
        if f not in ("json", "csv"):
            raise InvalidParameter("f must be json or csv")
        return f
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"])
    return "csv" if best == "text/csv" and request.accept_mimetypes["text/csv"] > \
        request.accept_mimetypes["application/json"] else "json"


def _answer(tables: list[str], media: str, name: str, compute) -> Response:
    """`compute(conn)` (text) as JSON or as a CSV download named `name`, tagged with the
    tables' data versions and the request; not computed when the copy is current (304)."""
    headers = {"Content-Disposition": f'attachment; filename="{name}.csv"'} if media == "csv" else {}
    media_type = CSV_TYPE if media == "csv" else JSON
    with db_errors(), services().engine.connect() as conn:
        versions = table_versions(conn, tables)
        tag = make_tag(sorted(versions.items()), request.path, sorted(request.args.items()), media)
        return respond(ApiResponse(etag=tag, headers={"Vary": "Accept"}, later=lambda: ApiResponse(
            body=compute(conn).encode(), media_type=media_type, headers={"Vary": "Accept", **headers})),
            "data")


@bp.get(COUNTS_PATH)
def station_counts(station: str):
    """GET .../items/{id}/counts?datetime=start/end&step=hour|day|week&f=json|csv."""
    get_layer(STATION_LAYER)                    # NotFound when hidden from the caller
    station_id = parse_feature_id(station)
    p = _params(SERIES_PARAMS)
    step = buckets.step_of(p.get("step"))
    window = buckets.window_of(p.get("datetime"))
    media = _media(p)
    return _answer(COUNTS_TABLES, media, f"station-{station_id}-{step}", lambda conn: series.station_series(
        conn, station_id, window, step, media))


@bp.get("/query/traffic")
def ward_traffic():
    """GET /query/traffic?ward=CODE&datetime=start/end[&step=hour|day|week][&f=json|csv]."""
    p = _params(WARD_PARAMS)
    if not p.get("ward") or not p.get("datetime"):
        raise InvalidParameter("ward (a ward or commune code) and datetime are required")
    step = buckets.step_of(p.get("step"))
    window = buckets.window_of(p["datetime"])
    media = _media(p)
    # each layer it reads must be visible to the caller (NotFound otherwise)
    tables = [get_layer(i).table_name for i in (STATION_LAYER, "admin_units", "roads")] + [COUNTS_TABLE]
    code = p["ward"].strip()
    if not WARD_CODE.fullmatch(code):
        raise InvalidParameter("ward must be a ward or commune code (letters, digits, '-', '_')")

    def compute(conn) -> str:
        if media == "csv":
            return wards.ward_csv(conn, code, window, step)
        return json.dumps(wards.ward_traffic(conn, code, window, step), ensure_ascii=False)
    return _answer(tables, media, f"traffic-{code}-{step}", compute)


def _observations():
    """The checked observations of the body: JSON, or CSV (`Content-Type: text/csv`)."""
    media = request.mimetype or "application/json"
    raw = request.get_data(cache=False)
    if media == "text/csv":
        return observations.from_csv(raw)
    if media != "application/json":
        raise UnsupportedMediaType(f"the body must be application/json or text/csv, not {media[:60]}")
    return observations.from_json(json_body(raw))


@bp.post(COUNTS_PATH)
def post_counts(station: str):
    """POST a batch of hourly observations of one station (the edit role on
    traffic_stations, GISDB_WRITES=on): one upsert (with its audit row) on the write
    role's engine, attributed, in one transaction; {inserted, updated, unchanged}."""
    get_layer(STATION_LAYER)
    principal = require([STATION_LAYER], "edit")
    station_id = parse_feature_id(station)
    _params(set())
    batch = _observations()
    writer = Writer(actor=principal.subject, source="api",
                    request_id=(request.headers.get("X-Request-Id") or uuid.uuid4().hex)[:100],
                    comment=f"{len(batch)} hourly counts", remote_addr=request.remote_addr)
    with db_errors(), services().write_engine().begin() as conn:
        result = write_counts(conn, station_id, batch, writer)
    resp = jsonify({"station": station_id, **result})
    resp.headers["Cache-Control"] = CACHE_CONTROL["never"]
    return resp
