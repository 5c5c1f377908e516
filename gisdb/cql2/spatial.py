"""Spatial operands and predicates of CQL2 filters: geometry literals checked by
shapely and bound as WKB (clipped to the filter CRS's area of use and transformed once
per statement to storage EPSG:4326, see gisdb.bbox), and the distance predicate in
metres (indexable bounding-box test, then geography)."""
from __future__ import annotations

import math

import shapely
import shapely.geometry
import sqlalchemy as sa
from pygeofilter import values

from gisdb.bbox import clip_to_area_of_use, storage_sql
from gisdb.crs import Crs
from gisdb.errors import InvalidFilter
from gisdb.model import STORAGE_SRID

MAX_COORDINATES = 10_000
MAX_ABS_COORDINATE = 1e8
METRES_PER_DEGREE = 111_320.0

SPATIAL_FUNCTIONS = {
    "INTERSECTS": sa.func.ST_Intersects, "WITHIN": sa.func.ST_Within,
    "CONTAINS": sa.func.ST_Contains, "DISJOINT": sa.func.ST_Disjoint,
    "TOUCHES": sa.func.ST_Touches, "CROSSES": sa.func.ST_Crosses,
    "OVERLAPS": sa.func.ST_Overlaps, "EQUALS": sa.func.ST_Equals,
}


def _shape(node, crs: Crs) -> shapely.Geometry:
    """The literal as a shapely geometry in x = easting/longitude order. A BBOX with
    minx > maxx in a geographic CRS crosses the antimeridian: two boxes."""
    if isinstance(node, values.Envelope):
        corners = (node.x1, node.y1, node.x2, node.y2)
        _check_numbers(corners)
        minx, miny, maxx, maxy = corners
        if crs.lat_first:
            minx, miny, maxx, maxy = miny, minx, maxy, maxx
        if miny > maxy:
            miny, maxy = maxy, miny
        if minx > maxx and crs.srid == STORAGE_SRID:
            return shapely.union_all([shapely.box(minx, miny, 180, maxy),
                                      shapely.box(-180, miny, maxx, maxy)])
        return shapely.box(min(minx, maxx), miny, max(minx, maxx), maxy)
    try:
        geom = shapely.geometry.shape(node.geometry)
    except Exception:  # shapely raises several types for malformed GeoJSON
        raise InvalidFilter("the filter holds a malformed geometry") from None
    if geom.is_empty:
        raise InvalidFilter("the filter holds an empty geometry")
    if shapely.get_num_coordinates(geom) > MAX_COORDINATES:
        raise InvalidFilter(f"a filter geometry may have at most {MAX_COORDINATES} coordinates")
    _check_numbers(shapely.get_coordinates(geom).ravel())
    if crs.lat_first:
        geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
    if not geom.is_valid:          # a hand-drawn bow-tie: repair rather than fail in GEOS
        geom = shapely.make_valid(geom)
    return geom


def _check_numbers(numbers) -> None:
    """Coordinates are finite numbers of a plausible size (no NaN, no 1e309)."""
    for v in numbers:
        if not (isinstance(v, (int, float)) and not isinstance(v, bool)
                and math.isfinite(v) and abs(v) < MAX_ABS_COORDINATE):
            raise InvalidFilter("the filter geometry has coordinates out of range "
                                "(each must be a finite number)")


def geometry_literal(node, crs: Crs) -> sa.ColumnElement:
    """A bound geometry in storage coordinates (EPSG:4326, lon/lat)."""
    geom = _shape(node, crs)
    if crs.srid == STORAGE_SRID:
        lon, lat = shapely.get_coordinates(geom).T
        if (abs(lat) > 90).any() or (abs(lon) > 360).any():
            raise InvalidFilter("filter coordinates are outside longitude/latitude range "
                                "(check filter-crs and axis order)")
    else:
        geom = clip_to_area_of_use(geom, crs.srid)
    wkb = sa.literal(shapely.to_wkb(geom), sa.LargeBinary)
    return storage_sql(wkb, crs.srid)


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
