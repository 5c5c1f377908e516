"""HTTP endpoints of the spatial queries and the search: `/query/identify`,
`/query/near`, `/query/within`, `/query/stats`, `/query/impact` and `/search`. Each
view checks its parameters (unknown ones are 400), makes one call into `layers.queries` /
`layers.search`, and answers JSON with an ETag that follows the layers' data versions
(304 on If-None-Match, decided by `webmap.responses`), Cache-Control and CORS headers."""
from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, request

from gisdb.engine import db_errors
from gisdb.errors import InvalidParameter
from gisdb.temporal import AsOf, parse_as_of
from gisdb.versions import table_versions
from layers import queries
from layers.layer import Layer
from layers.planning.impact import corridor_impact
from layers.planning.impact_tables import impact_csv, impact_xlsx
from layers.planning.reports.tables import MEDIA_TYPES
from layers.queries import inputs
from layers.queries.identify import DEFAULT_TOLERANCE_M
from layers.queries.within_export import within_file
from layers.registry import get_layer
from layers.search import search

from .api.response import ApiResponse
from .caching import as_of_cache, as_of_version, make_tag
from .request_body import json_body
from .responses import respond
from .services import services

bp = Blueprint("queries", __name__)
COMMON = {"f"}
ID_PARAMS = {"lon", "lat", "layers", "tolerance", "zoom", "at_date", "limit", "per_layer", "as_of"}
NEAR_PARAMS = {"layer", "lon", "lat", "geometry", "distance", "filter", "filter-lang", "filter-crs", "limit",
               "offset", "at_date", "include_geometry", "as_of"}
WITHIN_PARAMS = {"geometry", "circle", "layers", "at_date", "features", "as_of", "breakdown",
                 "wards"}
STATS_PARAMS = {"layer", "by", "filter", "filter-lang", "filter-crs", "at_date", "as_of"}
SEARCH_PARAMS = {"q", "layers", "limit"}
IMPACT_PARAMS = {"road", "width", "at_date"}


def _params(allowed: set[str], extra: set[str] = frozenset(),
            formats: tuple[str, ...] = ("json",)) -> dict:
    """Query string (and, for POST, a JSON object body's top-level members except the
    geometry) as one dict; any name outside `allowed | extra` is a 400, and so is an `f`
    outside `formats`."""
    params = {k: v for k, v in request.args.items()}
    unknown = set(params) - allowed - extra - COMMON
    if unknown:
        raise InvalidParameter("unknown parameter(s): " + ", ".join(sorted(unknown))[:200])
    if params.get("f", "json") not in formats:
        raise InvalidParameter("f must be " + " or ".join(formats))
    return params


def _body() -> dict | None:
    """The JSON body of a POST, or None. Its size is bounded while it streams in
    (webmap.body_limit); nesting deeper than Python's recursion limit is a 400."""
    if request.method != "POST":
        return None
    raw = request.get_data(cache=True)
    if not raw.strip():
        return None
    body = json_body(raw)
    if not isinstance(body, dict):
        raise InvalidParameter("the request body must be a JSON object")
    return body


def _json(result) -> ApiResponse:
    """A query's result as its JSON answer."""
    return ApiResponse(body=json.dumps(result, ensure_ascii=False, default=str).encode())


def _answer(tables: list[str], compute, as_of: AsOf | None = None, render=_json) -> Response:
    """`render(compute(conn))` (JSON by default), tagged with the tables' data versions
    (or the settled instant of `as_of`) and the request; not computed when the client's
    copy is current (304)."""
    with db_errors(), services().engine.connect() as conn:
        versions = as_of_version(as_of, sorted(table_versions(conn, tables).items()))
        tag = make_tag(versions, request.path, sorted(request.args.items()),
                       hashlib.sha256(request.get_data(cache=True)).hexdigest())
        return respond(ApiResponse(etag=tag, cache=as_of_cache(as_of),
                                   later=lambda: render(compute(conn))), "data")


def _as_of(p: dict) -> AsOf | None:
    """The request's `as_of` (None: the current state)."""
    return parse_as_of(None if p.get("as_of") is None else str(p["as_of"]))


def _at(as_of: AsOf | None):
    return None if as_of is None else as_of.at


def _tables(layers: tuple[Layer, ...], *more: str) -> list[str]:
    return sorted({layer.table_name for layer in layers} | set(more))


def _equals(params: dict, fixed: set[str]) -> dict:
    """Parameters that name a queryable: equality filters."""
    return {k: v for k, v in params.items() if k not in fixed | COMMON}


def _queryable_names(layer_id) -> set[str]:
    """Names of the layer's queryables (allowed as equality parameters); none when the
    layer is missing or several (the view reports that error itself)."""
    if not layer_id or "," in str(layer_id):
        return set()
    return {f.name for f in inputs.one_layer(str(layer_id)).queryables}


@bp.get("/query/identify")
def identify_view():
    """GET /query/identify?lon=&lat=[&layers=a,b][&tolerance=m | &zoom=z][&at_date=]
    [&limit=][&per_layer=]: what is at a point, each feature with its item link."""
    p = _params(ID_PARAMS)
    if "lon" not in p or "lat" not in p:
        raise InvalidParameter("lon and lat are required")
    lon, lat = inputs.lon_lat(p["lon"], p["lat"])
    layers = inputs.layer_list(p.get("layers"))
    if "tolerance" in p:
        tolerance = inputs.number(p["tolerance"], "tolerance", low=0, high=inputs.MAX_TOLERANCE_M)
    elif "zoom" in p:
        tolerance = inputs.tolerance_for_zoom(p["zoom"], lat)
    else:
        tolerance = DEFAULT_TOLERANCE_M
    limit = inputs.integer(p.get("limit", 50), "limit", low=1, high=200)
    per_layer = inputs.integer(p.get("per_layer", 5), "per_layer", low=1, high=20)
    at = inputs.date(p.get("at_date"))
    as_of = _as_of(p)

    def compute(conn):
        result = queries.identify(conn, lon, lat, layers, tolerance_m=tolerance, at_date=at,
                                  per_layer=per_layer, limit=limit, as_of=_at(as_of))
        for feature in result["features"]:
            feature["links"] = _feature_links(feature["layer"], feature["id"], as_of)
        return result
    return _answer(_tables(layers), compute, as_of)


def _feature_links(layer_id: str, feature_id, as_of: AsOf | None = None) -> list[dict]:
    href = f"{request.script_root}/collections/{layer_id}/items/{feature_id}"
    if as_of is not None:
        href += "?as_of=" + as_of.text.replace("+", "%2B")
    return [{"rel": "item", "type": "application/geo+json", "href": href},
            {"rel": "collection", "type": "application/json",
             "href": f"{request.script_root}/collections/{layer_id}"}]


def _geometry_from(p: dict, body: dict | None, *, allowed) -> inputs.QueryGeometry | None:
    """The query geometry of a request: a GeoJSON body (geometry, Feature, or an object
    with `geometry`), or `geometry=` (GeoJSON text), `circle=lon,lat,r`, `lon`+`lat`."""
    if body is not None:
        if body.get("type") in inputs.POINT_TYPES + inputs.LINE_TYPES + inputs.AREA_TYPES + ("Feature",):
            return inputs.geojson_geometry(body, allowed=allowed)
        if "circle" in body:
            c = body["circle"]
            if isinstance(c, dict):
                radius = c.get("radius_m", c.get("radius"))
                return inputs.circle(c.get("lon"), c.get("lat"), radius)
            return inputs.circle_text(str(c))
        if "geometry" in body:
            return inputs.geojson_geometry(body["geometry"], allowed=allowed)
    if p.get("geometry"):
        return inputs.geojson_geometry(p["geometry"], allowed=allowed)
    if p.get("circle"):
        return inputs.circle_text(p["circle"])
    if "lon" in p and "lat" in p:
        return inputs.point(p["lon"], p["lat"])
    return None


BODY_OPTIONS = ("layer", "layers", "distance", "filter", "filter-lang", "filter-crs", "limit", "offset",
                "at_date", "features", "include_geometry", "by", "as_of", "breakdown", "wards")


def _merge_body(p: dict, body: dict | None, allowed: set[str]) -> dict:
    """Options given in a JSON body (besides the geometry) count as parameters."""
    if not body or body.get("type"):
        return p
    unknown = set(body) - allowed - {"geometry", "circle", "equals"}
    if unknown:
        raise InvalidParameter("unknown member(s) in the body: " + ", ".join(sorted(unknown))[:200])
    merged = dict(p)
    for key in BODY_OPTIONS:
        if key in body and key in allowed:
            value = body[key]
            merged[key] = ",".join(map(str, value)) if isinstance(value, list) else value
    return merged


@bp.route("/query/near", methods=["GET", "POST"])
def near_view():
    """GET|POST /query/near: layer, lon+lat or geometry (Point/LineString), distance
    (m), filter, equality parameters on queryables; a FeatureCollection by distance."""
    body = _body()
    layer_id = request.args.get("layer") or (body or {}).get("layer")
    p = _merge_body(_params(NEAR_PARAMS, _queryable_names(layer_id)), body, NEAR_PARAMS)
    layer = inputs.one_layer(p.get("layer"))
    geometry = _geometry_from(p, body, allowed=inputs.POINT_TYPES + inputs.LINE_TYPES)
    if geometry is None:
        raise InvalidParameter("give lon and lat, or a Point/LineString geometry")
    if "distance" not in p:
        raise InvalidParameter("distance (metres) is required")
    equals = _equals(p, NEAR_PARAMS)
    extra = (body or {}).get("equals") or {}
    if not isinstance(extra, dict):
        raise InvalidParameter("equals must be an object of field: value")
    equals.update(extra)
    with_geometry = str(p.get("include_geometry", "true")).lower() not in ("false", "0", "no")
    as_of = _as_of(p)

    def compute(conn):
        result = queries.near(conn, layer, geometry, p["distance"], filter_text=p.get("filter"),
                              filter_lang=p.get("filter-lang", "cql2-text"), equals=equals,
                              limit=p.get("limit", 100), offset=p.get("offset", 0),
                              at_date=inputs.date(p.get("at_date")), with_geometry=with_geometry,
                              filter_crs=p.get("filter-crs"), as_of=_at(as_of))
        for feature in result["features"]:
            feature["links"] = _feature_links(layer.id, feature["id"], as_of)
        return result
    return _answer(_tables((layer,)), compute, as_of)


@bp.route("/query/within", methods=["GET", "POST"])
def within_view():
    """POST /query/within (GeoJSON body) or GET ?geometry= | circle=lon,lat,r
    [&layers=][&features=n][&at_date=][&breakdown=true][&wards=true][&f=json|csv|xlsx]:
    counts and measures per layer, with counts per category and the wards' parts inside
    when asked; as CSV or XLSX, the features inside (`layers.queries.within_export`)."""
    body = _body()
    p = _merge_body(_params(WITHIN_PARAMS, formats=("json", "csv", "xlsx")), body, WITHIN_PARAMS)
    geometry = _geometry_from(p, body, allowed=inputs.AREA_TYPES)
    if geometry is None:
        raise InvalidParameter("give a Polygon/MultiPolygon GeoJSON body, geometry=, or "
                               "circle=lon,lat,radius_m")
    layers = inputs.layer_list(p.get("layers"))
    at = inputs.date(p.get("at_date"))
    as_of = _as_of(p)
    breakdown, wards = inputs.flag(p.get("breakdown"), "breakdown"), inputs.flag(p.get("wards"), "wards")
    tables = _tables(layers, "land.admin_units") if wards else _tables(layers)
    fmt = p.get("f", "json")
    return _answer(tables, lambda conn: queries.within(
        conn, geometry, layers, at_date=at, feature_ids=p.get("features", 0), as_of=_at(as_of),
        breakdown=breakdown or fmt != "json", wards=wards, listing=fmt != "json"), as_of,
        render=_json if fmt == "json" else _within_file(fmt))


def _within_file(fmt: str):
    """The render of a `within` export (`f=csv|xlsx`): the file, to be saved."""
    return lambda result: ApiResponse(
        body=within_file(result, fmt), media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="within.{fmt}"'})


@bp.get("/query/stats")
def stats_view():
    """GET /query/stats?layer=&by=ward|district[&filter=][&at_date=][&<queryable>=value]."""
    layer_id = request.args.get("layer")
    p = _params(STATS_PARAMS, _queryable_names(layer_id))
    layer = inputs.one_layer(layer_id)
    equals = _equals(p, STATS_PARAMS)
    as_of = _as_of(p)
    return _answer(_tables((layer, get_layer("admin_units"))), lambda conn: queries.stats(
        conn, layer, p.get("by", "ward"), filter_text=p.get("filter"),
        filter_lang=p.get("filter-lang", "cql2-text"), equals=equals, at_date=p.get("at_date"),
        filter_crs=p.get("filter-crs"), as_of=_at(as_of)), as_of)


IMPACT_RENDER = {
    "json": lambda r: _json(r.document()),
    "csv": lambda r: ApiResponse(body=impact_csv(r), media_type=MEDIA_TYPES["csv"],
                                 headers={"Content-Disposition": 'attachment; filename="impact.csv"'}),
    "xlsx": lambda r: ApiResponse(body=impact_xlsx(r), media_type=MEDIA_TYPES["xlsx"],
                                  headers={"Content-Disposition": 'attachment; filename="impact.xlsx"'}),
}


def _corridor_body(body: dict | None):
    """The drawn corridor of a POST: a GeoJSON geometry or Feature, or {"geometry": ...}
    (a Polygon/MultiPolygon, or a LineString/MultiLineString with `width`)."""
    if body is None:
        return None
    if "type" in body:
        return body
    if set(body) != {"geometry"}:
        raise InvalidParameter("the body must be a GeoJSON corridor polygon or line (or {\"geometry\": ...})")
    return body["geometry"]


@bp.route("/query/impact", methods=["GET", "POST"])
def impact_view():
    """GET /query/impact?road=ID|NAME&width=M, or POST a GeoJSON corridor polygon, or POST
    a GeoJSON line with ?width=M [&at_date=][&f=json|csv|xlsx]: the parcels and buildings
    a road widening affects."""
    p = _params(IMPACT_PARAMS, formats=tuple(IMPACT_RENDER))
    corridor = _corridor_body(_body())
    if corridor is None and "road" not in p:
        raise InvalidParameter("give road and width, or POST a GeoJSON corridor polygon (or a line with width)")
    at = inputs.date(p.get("at_date"))
    tables = _tables(tuple(get_layer(n) for n in ("roads", "parcels", "buildings", "admin_units")))
    return _answer(tables, lambda conn: corridor_impact(
        conn, road=p.get("road"), width_m=p.get("width"), corridor=corridor, at_date=at),
        render=IMPACT_RENDER[p.get("f", "json")])


@bp.get("/search")
def search_view():
    """Answer GET /search?q=[&layers=][&limit=]."""
    p = _params(SEARCH_PARAMS)
    if "q" not in p:
        raise InvalidParameter("q is required")
    layers = inputs.layer_list(p.get("layers"))
    limit = inputs.integer(p.get("limit", 10), "limit", low=1, high=50)
    return _answer(_tables(layers, "land.admin_units"),
                   lambda conn: search(conn, p["q"], layers, limit))

