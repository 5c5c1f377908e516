"""Checking what callers hand to the spatial queries, once, at the boundary: points,
GeoJSON geometries, circles, layer lists, dates and numbers. Everything here raises
`InvalidParameter` with a message meant for the user, and bounds sizes so that no
request can ask the database for unbounded work."""
from __future__ import annotations

import datetime as dt
import json
import math
import re
import threading
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import shape

from gisdb.errors import InvalidParameter
from layers.layer import Layer
from layers.registry import get_layer, source_layers

MAX_VERTICES = 10_000                 # of a drawn or posted geometry
MAX_GEOJSON_CHARS = 1_000_000
MAX_RADIUS_M = 50_000.0
MAX_DISTANCE_M = 50_000.0
MAX_TOLERANCE_M = 1_000.0
# A query area larger than this (about the old Da Nang city, 1,285 km², with margin) is
# refused: it is not a planner's drawn area, and it would scan every table in full.
MAX_QUERY_AREA_M2 = 2_000e6
POINT_TYPES = ("Point", "MultiPoint")
LINE_TYPES = ("LineString", "MultiLineString")
AREA_TYPES = ("Polygon", "MultiPolygon")


@dataclass(frozen=True)
class QueryGeometry:
    """A validated query geometry in EPSG:4326: a drawn geometry (as WKB) or a circle."""

    wkb: bytes | None = None
    geom_type: str = ""
    bounds: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    center: tuple[float, float] | None = None
    radius_m: float | None = None
    area_m2: float = 0.0              # on the WGS 84 spheroid

    @property
    def is_circle(self) -> bool:
        return self.radius_m is not None

    @property
    def max_abs_lat(self) -> float:
        return max(abs(self.bounds[1]), abs(self.bounds[3]))


def number(value, name: str, *, low: float | None = None, high: float | None = None) -> float:
    """A finite float within [low, high]; strings are parsed."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InvalidParameter(f"{name} must be a number, got {str(value)[:40]!r}") from None
    if not math.isfinite(out):
        raise InvalidParameter(f"{name} must be a finite number")
    if (low is not None and out < low) or (high is not None and out > high):
        raise InvalidParameter(f"{name} must be between {low:g} and {high:g}, got {out:g}")
    return out


PLAIN_INTEGER = re.compile(r"-?[0-9]{1,19}")


def integer(value, name: str, *, low: int, high: int) -> int:
    """An integer within [low, high] written in plain ASCII digits (Python's int() would
    also take '١', '+1', '1_0' and ' 1 '); floats are refused."""
    text = str(value)
    if isinstance(value, bool) or not PLAIN_INTEGER.fullmatch(text):
        raise InvalidParameter(f"{name} must be an integer, got {text[:40]!r}")
    out = int(text)
    if not low <= out <= high:
        raise InvalidParameter(f"{name} must be between {low} and {high}, got {out}")
    return out


def lon_lat(lon, lat) -> tuple[float, float]:
    """A checked (longitude, latitude) in EPSG:4326."""
    return (number(lon, "lon", low=-180, high=180), number(lat, "lat", low=-90, high=90))


def date(value, name: str = "at_date") -> dt.date:
    """An ISO date (YYYY-MM-DD); a date passes through; None means today."""
    if value is None or value == "":
        return dt.date.today()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidParameter(f"{name} must be a date YYYY-MM-DD, got {str(value)[:40]!r}") from None


def layer_list(value, *, default: tuple[Layer, ...] | None = None) -> tuple[Layer, ...]:
    """Layers from ids (a list, or a comma-separated string); all layers when empty.
    An unknown id is a 400 here (not a 404): the request is wrong, not a resource."""
    if value is None or value == "" or value == []:
        return source_layers() if default is None else default
    ids = value.split(",") if isinstance(value, str) else list(value)
    out: list[Layer] = []
    for raw in ids:
        layer_id = str(raw).strip()
        if not layer_id:
            continue
        try:
            layer = get_layer(layer_id)
        except LookupError:
            raise InvalidParameter(f"unknown layer {layer_id[:40]!r}") from None
        if layer not in out:
            out.append(layer)
    if not out:
        raise InvalidParameter("layers must name at least one layer")
    return tuple(out)


def one_layer(value) -> Layer:
    """Exactly one layer id."""
    if not value:
        raise InvalidParameter("layer is required")
    if "," in str(value):
        raise InvalidParameter("give exactly one layer")
    return layer_list(str(value))[0]


def geojson_geometry(value, *, allowed: tuple[str, ...] = POINT_TYPES + LINE_TYPES + AREA_TYPES
                     ) -> QueryGeometry:
    """A GeoJSON geometry (dict or JSON text; a Feature's geometry is accepted) in
    EPSG:4326, of an allowed type, valid, with at most MAX_VERTICES vertices."""
    if isinstance(value, (str, bytes)):
        if len(value) > MAX_GEOJSON_CHARS:
            raise InvalidParameter("geometry is too large")
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidParameter("geometry is not valid JSON") from None
        except RecursionError:
            raise InvalidParameter("geometry is nested too deeply") from None
    if not isinstance(value, dict):
        raise InvalidParameter("geometry must be a GeoJSON object")
    if value.get("type") == "Feature":
        value = value.get("geometry")
        if not isinstance(value, dict):
            raise InvalidParameter("the Feature has no geometry")
    gtype = value.get("type")
    if gtype not in allowed:
        raise InvalidParameter(f"geometry type must be one of {', '.join(allowed)}, "
                               f"got {str(gtype)[:40]!r}")
    try:
        geom = shape(value)
    except Exception:   # shapely raises many types on malformed coordinates
        raise InvalidParameter("geometry coordinates are malformed") from None
    if geom.is_empty:
        raise InvalidParameter("geometry is empty")
    if shapely.get_num_coordinates(geom) > MAX_VERTICES:
        raise InvalidParameter(f"geometry has more than {MAX_VERTICES} vertices")
    minx, miny, maxx, maxy = geom.bounds
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)) or \
            minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise InvalidParameter("geometry coordinates must be longitude, latitude (EPSG:4326)")
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        raise InvalidParameter(f"geometry is not valid: {reason[:80]}")
    area = area_m2(geom) if gtype in AREA_TYPES else 0.0
    return QueryGeometry(wkb=shapely.to_wkb(geom, include_srid=False), geom_type=gtype,
                         bounds=(minx, miny, maxx, maxy), area_m2=area)


EQUAL_AREA = "EPSG:6933"          # WGS 84 / cylindrical equal-area on the ellipsoid
SEGMENT_DEG = 0.1
_transformers = threading.local()


def area_m2(geom) -> float:
    """Area of a lon/lat polygon in m², with its edges read as PostGIS `geometry` reads
    them (straight in lon/lat): densified, then measured in an equal-area projection.
    Geodesic measures see a polygon spanning -180..180 / -90..90 as a degenerate ring of
    area 0, and such a polygon passed the area limit."""
    transformer = getattr(_transformers, "to_equal_area", None)
    if transformer is None:
        transformer = _transformers.to_equal_area = Transformer.from_crs(
            "EPSG:4326", EQUAL_AREA, always_xy=True)
    dense = shapely.segmentize(geom, SEGMENT_DEG)
    projected = shapely.transform(dense, lambda xy: np.column_stack(
        transformer.transform(xy[:, 0], xy[:, 1])))
    return float(projected.area)


def circle(lon, lat, radius_m) -> QueryGeometry:
    """A circle given by its centre and radius in metres."""
    x, y = lon_lat(lon, lat)
    r = number(radius_m, "radius", low=0.01, high=MAX_RADIUS_M)
    dy = r / 110_574.0
    dx = dy / max(math.cos(math.radians(min(abs(y) + dy, 89.0))), 0.01)
    return QueryGeometry(geom_type="Circle", center=(x, y), radius_m=r,
                         bounds=(x - dx, y - dy, x + dx, y + dy), area_m2=math.pi * r * r)


def circle_text(value: str) -> QueryGeometry:
    """A circle written `lon,lat,radius_m`."""
    parts = str(value).split(",")
    if len(parts) != 3:
        raise InvalidParameter("circle must be lon,lat,radius_m")
    return circle(*parts)


def point(lon, lat) -> QueryGeometry:
    """A checked point as a query geometry."""
    x, y = lon_lat(lon, lat)
    return QueryGeometry(wkb=shapely.to_wkb(shapely.Point(x, y)), geom_type="Point",
                         bounds=(x, y, x, y))


def tolerance_for_zoom(zoom, lat: float, pixels: float = 6.0) -> float:
    """Metres covered by `pixels` screen pixels at a web-map zoom level and latitude:
    what a click can mean at that zoom."""
    z = number(zoom, "zoom", low=0, high=24)
    metres_per_pixel = 156_543.034 * math.cos(math.radians(lat)) / (2 ** z)
    return min(max(metres_per_pixel * pixels, 0.5), MAX_TOLERANCE_M)


FLAG_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def flag(raw, name: str) -> bool:
    """A yes/no option (`true`/`false`, `1`/`0`, `yes`/`no`, or a JSON boolean); absent
    is False; anything else is InvalidParameter."""
    if raw is None or raw is False or raw is True:
        return bool(raw)
    value = FLAG_WORDS.get(str(raw).strip().lower())
    if value is None:
        raise InvalidParameter(f"{name} must be true or false, not {str(raw)[:20]!r}")
    return value
