"""Bounding boxes as people type them ("minx,miny,maxx,maxy", in some CRS), parsed in one
place for the feature API, exports and tile seeding, and turned into storage geometry
(EPSG:4326) for SQL.

A box is first clipped to its CRS's area of use (pyproj's `CRS.area_of_use`), so a
"whole world" box in Web Mercator or VN-2000 / TM-3 never reaches PROJ with coordinates
outside the projection's domain; then it is densified to a bounded number of vertices
and transformed by PostGIS once per statement (an uncorrelated scalar subquery), never
once per row. In a geographic CRS a box with minx > maxx crosses the antimeridian
(OGC API - Features): it becomes two boxes."""
from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import shapely
import sqlalchemy as sa
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from .errors import InvalidParameter
from .model import STORAGE_SRID

MAX_ABS = 1e8                 # larger numbers are typing mistakes in any CRS we accept
EDGE_VERTICES = 64            # vertices per box edge once densified (curved edges follow)


class Box(NamedTuple):
    """minx, miny, maxx, maxy with x = easting/longitude (maxx < minx: antimeridian)."""

    minx: float
    miny: float
    maxx: float
    maxy: float


def parse_bbox(text: str, srid: int = STORAGE_SRID, *, lat_first: bool = False,
               antimeridian: bool = False, name: str = "bbox") -> Box:
    """4 (or 6, 3D) comma-separated numbers in the axis order of the CRS as a Box.
    Geographic coordinates must be longitudes/latitudes; `antimeridian` allows a
    geographic box with minx > maxx."""
    try:
        numbers = [float(v) for v in str(text).split(",")]
    except ValueError:
        raise InvalidParameter(f"{name} must be 4 comma-separated numbers "
                               f"minx,miny,maxx,maxy, got {str(text)[:60]!r}") from None
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or not all(math.isfinite(n) and abs(n) < MAX_ABS for n in numbers):
        raise InvalidParameter(f"{name} must be 4 comma-separated numbers minx,miny,maxx,maxy")
    a0, a1, b0, b1 = numbers
    box = Box(a1, a0, b1, b0) if lat_first else Box(a0, a1, b0, b1)
    geographic = is_geographic(srid)
    if geographic and not (-180 <= min(box.minx, box.maxx) and max(box.minx, box.maxx) <= 180
                           and -90 <= min(box.miny, box.maxy) and max(box.miny, box.maxy) <= 90):
        raise InvalidParameter(f"{name}: coordinates are outside longitude/latitude range "
                               f"(check {name}-crs and axis order)")
    if box.miny > box.maxy or (box.minx > box.maxx and not (antimeridian and geographic)):
        raise InvalidParameter(f"{name}: the lower corner must come first (min before max)")
    return box


@lru_cache(maxsize=32)
def _crs(srid: int) -> CRS:
    try:
        return CRS.from_epsg(srid)
    except CRSError:
        raise InvalidParameter(f"unknown coordinate reference system EPSG:{srid}") from None


def is_geographic(srid: int) -> bool:
    return _crs(srid).is_geographic


@lru_cache(maxsize=32)
def area_of_use(srid: int) -> shapely.Polygon:
    """The CRS's area of use in its own coordinates (x = easting/longitude)."""
    crs = _crs(srid)
    aou = crs.area_of_use
    west, south, east, north = (aou.west, aou.south, aou.east, aou.north) if aou else (-180, -90, 180, 90)
    if crs.is_geographic and crs.to_epsg() == 4326:
        return shapely.box(west, south, east, north)
    try:
        to_crs = Transformer.from_crs(CRS.from_epsg(4326), crs, always_xy=True)
        bounds = to_crs.transform_bounds(west, south, east, north, densify_pts=21)
    except ProjError:
        raise InvalidParameter(f"EPSG:{srid} cannot be used for a bounding box") from None
    if not all(math.isfinite(v) for v in bounds):
        raise InvalidParameter(f"EPSG:{srid} cannot be used for a bounding box")
    return shapely.box(*bounds)


def box_shape(box: Box, srid: int) -> shapely.Geometry:
    """The box as a polygon (two across the antimeridian) clipped to the CRS's area of
    use and densified, in the CRS's coordinates; empty when it lies outside."""
    if box.minx > box.maxx:
        parts = [shapely.box(box.minx, box.miny, 180, box.maxy),
                 shapely.box(-180, box.miny, box.maxx, box.maxy)]
    else:
        parts = [shapely.box(*box)]
    return clip_to_area_of_use(shapely.union_all(parts), srid)


def clip_to_area_of_use(geom: shapely.Geometry, srid: int) -> shapely.Geometry:
    """`geom` (in the CRS of `srid`) cut to that CRS's area of use and, when it will be
    transformed, densified so that its edges follow the curve (at most about
    EDGE_VERTICES vertices per edge of its bounding box)."""
    clipped = shapely.intersection(geom, area_of_use(srid))
    if clipped.is_empty or srid == STORAGE_SRID:
        return clipped
    minx, miny, maxx, maxy = clipped.bounds
    step = max(maxx - minx, maxy - miny) / EDGE_VERTICES
    return shapely.segmentize(clipped, step) if step > 0 else clipped


def storage_sql(wkb: sa.ColumnElement, srid: int) -> sa.ColumnElement:
    """A bound WKB geometry in `srid` as an EPSG:4326 geometry, transformed once per
    statement (a scalar subquery runs once; the index condition takes its value).
    The SRID is SQL text, part of SQLAlchemy's statement cache key: GeoAlchemy2 may
    render an integer SRID argument of ST_GeomFromWKB inline, and a cached compilation
    of the same statement in another CRS then kept the first SRID."""
    geom = sa.func.ST_SetSRID(sa.func.ST_GeomFromWKB(wkb), sa.literal_column(str(int(srid)), sa.Integer))
    if srid == STORAGE_SRID:
        return geom
    return sa.select(sa.func.ST_Transform(geom, STORAGE_SRID)).scalar_subquery()


def box_wkb(box: Box, srid: int) -> bytes:
    """WKB of `box_shape`, for a bound parameter."""
    return shapely.to_wkb(box_shape(box, srid))


def box_condition(geometry: sa.ColumnElement, box: Box, srid: int) -> sa.ColumnElement:
    """`geometry` (EPSG:4326) intersects the box given in `srid`."""
    wkb = sa.literal(box_wkb(box, srid), sa.LargeBinary)
    return sa.func.ST_Intersects(geometry, storage_sql(wkb, srid))
