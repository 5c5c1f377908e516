"""Spatial operands and predicates of CQL2 filters: geometry literals checked by
shapely and bound as WKB (transformed from the filter CRS to storage EPSG:4326), and
the distance predicate in metres (indexable bounding-box test, then geography)."""
from __future__ import annotations

import math

import shapely
import shapely.geometry
import sqlalchemy as sa
from pygeofilter import values

from gisdb.crs import Crs
from gisdb.errors import InvalidFilter

MAX_COORDINATES = 10_000
STORAGE_SRID = 4326
METRES_PER_DEGREE = 111_320.0

SPATIAL_FUNCTIONS = {
    "INTERSECTS": sa.func.ST_Intersects, "WITHIN": sa.func.ST_Within,
    "CONTAINS": sa.func.ST_Contains, "DISJOINT": sa.func.ST_Disjoint,
    "TOUCHES": sa.func.ST_Touches, "CROSSES": sa.func.ST_Crosses,
    "OVERLAPS": sa.func.ST_Overlaps, "EQUALS": sa.func.ST_Equals,
}


def _shape(node) -> shapely.Geometry:
    if isinstance(node, values.Envelope):
        minx, maxx = sorted((node.x1, node.x2))
        miny, maxy = sorted((node.y1, node.y2))
        return shapely.box(minx, miny, maxx, maxy)
    try:
        geom = shapely.geometry.shape(node.geometry)
    except Exception:  # shapely raises several types for malformed GeoJSON
        raise InvalidFilter("the filter holds a malformed geometry") from None
    if geom.is_empty:
        raise InvalidFilter("the filter holds an empty geometry")
    if not geom.is_valid:          # a hand-drawn bow-tie: repair rather than fail in GEOS
        geom = shapely.make_valid(geom)
    return geom


def geometry_literal(node, crs: Crs) -> sa.ColumnElement:
    """A bound geometry in storage coordinates (EPSG:4326, lon/lat)."""
    geom = _shape(node)
    if shapely.get_num_coordinates(geom) > MAX_COORDINATES:
        raise InvalidFilter(f"a filter geometry may have at most {MAX_COORDINATES} coordinates")
    coords = shapely.get_coordinates(geom)
    if not all(math.isfinite(v) and abs(v) < 1e8 for v in coords.ravel()):
        raise InvalidFilter("the filter geometry has coordinates out of range")
    if crs.lat_first:
        geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
    if crs.srid == STORAGE_SRID:
        lon, lat = shapely.get_coordinates(geom).T
        if (abs(lat) > 90).any() or (abs(lon) > 360).any():
            raise InvalidFilter("filter coordinates are outside longitude/latitude range "
                                "(check filter-crs and axis order)")
    bound = sa.func.ST_GeomFromWKB(sa.literal(shapely.to_wkb(geom), sa.LargeBinary), crs.srid)
    if crs.srid != STORAGE_SRID:
        bound = sa.func.ST_Transform(bound, STORAGE_SRID)
    return bound


def distance_within(lhs: sa.ColumnElement, rhs: sa.ColumnElement, metres: float) -> sa.ColumnElement:
    """Within `metres` on the ellipsoid. The first test (degrees, generous, uses the
    GiST index) narrows the rows; the geography test is exact."""
    lat = sa.func.greatest(sa.func.abs(sa.func.ST_YMin(sa.func.Box2D(rhs))),
                           sa.func.abs(sa.func.ST_YMax(sa.func.Box2D(rhs))))
    degrees_lat = metres / METRES_PER_DEGREE
    reach = (metres / METRES_PER_DEGREE) / sa.func.cos(
        sa.func.radians(sa.func.least(89.0, lat + degrees_lat))) * 1.01 + 1e-7
    return sa.and_(
        sa.func.ST_DWithin(lhs, rhs, reach),
        sa.func.ST_DWithin(sa.cast(lhs, _Geography()), sa.cast(rhs, _Geography()), metres),
    )


class _Geography(sa.types.UserDefinedType):
    """Plain `geography` cast target (no SRID typmod)."""

    cache_ok = True

    def get_col_spec(self, **kw) -> str:
        return "geography"
