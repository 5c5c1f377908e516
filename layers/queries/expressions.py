"""SQL building blocks the spatial queries share, as SQLAlchemy expressions over the
registry's tables (never SQL text from user input).

Measures are in metres on the WGS 84 spheroid (`geography`), which is exact for
Da Nang without choosing a projection; the statistics over whole layers sum planar
measures on the city's own grid (EPSG:5899), several times cheaper per feature. Distance tests keep the GiST index on the
EPSG:4326 `geom` column useful: an envelope expanded by the distance in degrees
(`&&`, index-backed) filters first, then `ST_DWithin` on geography decides exactly."""
from __future__ import annotations

import datetime as dt
import math

import sqlalchemy as sa

from gisdb.model import METRIC_SRID, STORAGE_SRID
from layers.layer import Layer

from .inputs import QueryGeometry

METRES_PER_DEGREE_LAT = 110_574.0     # the smallest value on the spheroid (at the equator)
METRES_PER_DEGREE_LON_EQUATOR = 111_320.0
SAFETY = 1.05                         # margin so that the envelope never cuts a true match
CIRCLE_SEGMENTS = "quad_segs=16"      # 64-gon: its area is within 0.2 % of the circle


def degrees_for(distance_m: float, max_abs_lat: float) -> tuple[float, float]:
    """Degrees of longitude and latitude that surely cover `distance_m` around a
    geometry whose latitudes stay within +-max_abs_lat."""
    dy = distance_m / METRES_PER_DEGREE_LAT * SAFETY
    lat = min(max_abs_lat + dy, 89.0)
    dx = distance_m / (METRES_PER_DEGREE_LON_EQUATOR * max(math.cos(math.radians(lat)), 0.01))
    return dx * SAFETY, dy


def geometry_literal(qg: QueryGeometry):
    """The query geometry as a bound EPSG:4326 geometry (a circle becomes a 64-gon
    built on the spheroid, used where a polygon is needed, e.g. clipping)."""
    if qg.is_circle:
        centre = point_literal(*qg.center)
        return sa.func.geometry(sa.func.ST_Buffer(sa.func.geography(centre),
                                                  qg.radius_m, CIRCLE_SEGMENTS))
    return sa.func.ST_SetSRID(
        sa.func.ST_GeomFromWKB(sa.bindparam(None, qg.wkb, type_=sa.LargeBinary)), STORAGE_SRID)


def point_literal(lon: float, lat: float):
    """A bound EPSG:4326 point."""
    return sa.func.ST_SetSRID(sa.func.ST_MakePoint(sa.literal(float(lon)), sa.literal(float(lat))),
                              STORAGE_SRID)


def within_distance(column, target, distance_m: float, max_abs_lat: float):
    """`column` lies within `distance_m` metres of `target` (index-backed, exact)."""
    dx, dy = degrees_for(distance_m, max_abs_lat)
    return sa.and_(
        column.op("&&")(sa.func.ST_Expand(target, dx, dy)),
        sa.func.ST_DWithin(sa.func.geography(column), sa.func.geography(target), distance_m),
    )


def distance_m(column, target):
    """Distance in metres on the spheroid."""
    return sa.func.ST_Distance(sa.func.geography(column), sa.func.geography(target))


def selects(column, qg: QueryGeometry, clip):
    """`column` meets the query geometry: intersects a drawn geometry, or lies within
    the circle's radius of its centre (exact on the spheroid)."""
    if qg.is_circle:
        return within_distance(column, point_literal(*qg.center), qg.radius_m, qg.max_abs_lat)
    return sa.func.ST_Intersects(column, clip)


def area_m2(column):
    """Area in m² on the spheroid."""
    return sa.func.ST_Area(sa.func.geography(column))


def length_m(column):
    """Length in metres on the spheroid."""
    return sa.func.ST_Length(sa.func.geography(column))


def planar_area_m2(column):
    """Area in m² on Da Nang's plane (VN-2000 / TM-3, EPSG:5899): within 0.1 % of the
    spheroid's over the city and several times cheaper, for sums over whole layers."""
    return sa.func.ST_Area(sa.func.ST_Transform(column, METRIC_SRID))


def planar_length_m(column):
    """Length in metres on Da Nang's plane (see `planar_area_m2`)."""
    return sa.func.ST_Length(sa.func.ST_Transform(column, METRIC_SRID))


def is_area(layer: Layer) -> bool:
    return "Polygon" in layer.geometry_type


def is_line(layer: Layer) -> bool:
    return "LineString" in layer.geometry_type


def valid_at(table, at: dt.date) -> list:
    """Conditions keeping only the rows valid on `at`, for layers with validity dates
    (the admin units: districts end on 2025-07-01, new wards start then)."""
    cols = table.c
    if "valid_from" not in cols or "valid_to" not in cols:
        return []
    return [cols.valid_from <= at, sa.or_(cols.valid_to.is_(None), cols.valid_to > at)]


def properties_json(layer: Layer, table):
    """A JSON object of the layer's fields, keys in registry order."""
    args = []
    for field in layer.fields:
        args.extend((sa.literal(field.name), table.c[field.name]))
    return sa.func.json_build_object(*args)


def bbox_columns(column) -> list:
    """xmin, ymin, xmax, ymax of a geometry (or box) expression."""
    return [sa.func.ST_XMin(column).label("xmin"), sa.func.ST_YMin(column).label("ymin"),
            sa.func.ST_XMax(column).label("xmax"), sa.func.ST_YMax(column).label("ymax")]


def bbox_of(row) -> list[float] | None:
    """[xmin, ymin, xmax, ymax] of a row from `bbox_columns`."""
    if row.xmin is None:
        return None
    return [round(float(v), 7) for v in (row.xmin, row.ymin, row.xmax, row.ymax)]


def attributes(layer: Layer, properties: dict) -> list[dict]:
    """The feature's values with their Vietnamese and English labels, in registry order
    (what a popup shows)."""
    return [{"name": f.name, "vi": f.vi, "en": f.en, "value": properties.get(f.name)}
            for f in layer.fields]


def label_of(layer: Layer, properties: dict, feature_id) -> str:
    """What a popup or a list shows for a feature: a parcel as planners write it
    ("Thửa 345, tờ 12, 20194"), otherwise the layer's label field."""
    if {"sheet_no", "parcel_no"} <= properties.keys():
        return (f"Thửa {properties['parcel_no']}, tờ {properties['sheet_no']}, "
                f"{properties.get('ward_code') or ''}").rstrip(", ")
    value = properties.get(layer.label_field) if layer.label_field else None
    return str(value) if value not in (None, "") else f"{layer.title_en} {feature_id}"
