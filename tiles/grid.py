"""The WebMercatorQuad tile matrix set (OGC 17-083r4 / OGC API - Tiles): z/x/y
validation, tile bounds, and the tile matrix set document.

Every tile endpoint parses its z/x/y here first, so bad input is a fast 400 before any
database work."""
from __future__ import annotations

import math
from dataclasses import dataclass

from gisdb.errors import InvalidParameter

TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
CRS_URI = "http://www.opengis.net/def/crs/EPSG/0/3857"
MAX_ZOOM = 24
ORIGIN = 20037508.342789244           # half the equator in EPSG:3857 metres
WORLD = 2 * ORIGIN
TILE_SIZE = 256
# scale denominator of zoom 0 at the OGC standard pixel size of 0.28 mm
SCALE_Z0 = 559082264.028717


@dataclass(frozen=True, order=True)
class Tile:
    """One tile of WebMercatorQuad: zoom, column (x) and row (y), origin top-left."""

    z: int
    x: int
    y: int

    @property
    def size(self) -> float:
        """Width of the tile in EPSG:3857 metres."""
        return WORLD / (1 << self.z)

    @property
    def pixel(self) -> float:
        """Width of one pixel of a 256-pixel rendering, in metres."""
        return self.size / TILE_SIZE

    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) in EPSG:3857."""
        minx = -ORIGIN + self.x * self.size
        maxy = ORIGIN - self.y * self.size
        return (minx, maxy - self.size, minx + self.size, maxy)

    def lonlat_bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in degrees."""
        minx, miny, maxx, maxy = self.bounds()
        return (mercator_to_lon(minx), mercator_to_lat(miny),
                mercator_to_lon(maxx), mercator_to_lat(maxy))


def _integer(name: str, raw) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    text = str(raw).strip()
    if not text.isascii() or not text.isdigit():
        raise InvalidParameter(f"{name} must be a non-negative integer, got {str(raw)[:20]!r}")
    return int(text)


def parse_tile(z, x, y, *, max_zoom: int = MAX_ZOOM) -> Tile:
    """A validated Tile from raw path values; InvalidParameter (400) otherwise."""
    zi = _integer("z", z)
    if zi > max_zoom:
        raise InvalidParameter(f"z must be between 0 and {max_zoom}, got {zi}")
    xi, yi = _integer("x", x), _integer("y", y)
    limit = 1 << zi
    if xi >= limit or yi >= limit:
        raise InvalidParameter(f"at zoom {zi}, x and y must be between 0 and {limit - 1}")
    return Tile(zi, xi, yi)


def parse_zoom_range(text: str) -> tuple[int, int]:
    """'10-16' or '12' -> (min, max), validated."""
    parts = str(text).split("-")
    if len(parts) not in (1, 2):
        raise InvalidParameter(f"zoom range must look like 10-16, got {text!r}")
    lo = _integer("zoom", parts[0])
    hi = _integer("zoom", parts[-1])
    if lo > hi or hi > MAX_ZOOM:
        raise InvalidParameter(f"zoom range must be ascending and at most {MAX_ZOOM}, got {text!r}")
    return lo, hi


def mercator_to_lon(x: float) -> float:
    return x / ORIGIN * 180.0


def mercator_to_lat(y: float) -> float:
    return math.degrees(2 * math.atan(math.exp(y / ORIGIN * math.pi)) - math.pi / 2)


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """Column and row of the tile holding (lon, lat) at zoom z (clamped to the grid)."""
    n = 1 << z
    lat = max(min(lat, 85.0511287798), -85.0511287798)
    x = int((lon + 180.0) / 360.0 * n)
    rad = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tiles_in_bbox(bbox: tuple[float, float, float, float], z: int):
    """Every tile of zoom z touching a (west, south, east, north) box, row by row."""
    west, south, east, north = bbox
    x0, y0 = lonlat_to_tile(west, north, z)
    x1, y1 = lonlat_to_tile(east, south, z)
    for y in range(y0, y1 + 1):
        for x in range(x0, x1 + 1):
            yield Tile(z, x, y)


def count_tiles_in_bbox(bbox: tuple[float, float, float, float], z: int) -> int:
    west, south, east, north = bbox
    x0, y0 = lonlat_to_tile(west, north, z)
    x1, y1 = lonlat_to_tile(east, south, z)
    return (x1 - x0 + 1) * (y1 - y0 + 1)


def tile_matrix_set(base_url: str = "") -> dict:
    """The WebMercatorQuad tile matrix set document (OGC Two Dimensional Tile Matrix Set)."""
    matrices = []
    for z in range(MAX_ZOOM + 1):
        n = 1 << z
        matrices.append({
            "id": str(z),
            "scaleDenominator": SCALE_Z0 / n,
            "cellSize": WORLD / TILE_SIZE / n,
            "cornerOfOrigin": "topLeft",
            "pointOfOrigin": [-ORIGIN, ORIGIN],
            "topLeftCorner": [-ORIGIN, ORIGIN],
            "tileWidth": TILE_SIZE,
            "tileHeight": TILE_SIZE,
            "matrixWidth": n,
            "matrixHeight": n,
        })
    return {
        "id": TMS_ID,
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "crs": CRS_URI,
        "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": matrices,
        "links": [{"rel": "self", "type": "application/json",
                   "href": f"{base_url}/tileMatrixSets/{TMS_ID}"}],
        **_tms_1_0_members(matrices),
    }


def _tms_1_0_members(matrices: list[dict]) -> dict:
    """The same grid in the members of TMS 1.0 (OGC 17-083r2 JSON): GDAL 3.6 parses a
    tiling scheme only when it finds them (and reads each matrix's `topLeftCorner`, also
    written beside `pointOfOrigin`); a TMS 2.0 reader ignores them."""
    return {
        "type": "TileMatrixSetType",
        "identifier": TMS_ID,
        "supportedCRS": CRS_URI,
        "tileMatrix": [{"type": "TileMatrixType", "identifier": m["id"],
                        "scaleDenominator": m["scaleDenominator"],
                        "topLeftCorner": m["pointOfOrigin"],
                        "tileWidth": m["tileWidth"], "tileHeight": m["tileHeight"],
                        "matrixWidth": m["matrixWidth"], "matrixHeight": m["matrixHeight"]}
                       for m in matrices],
    }


def tile_matrix_sets(base_url: str = "") -> dict:
    """The list of supported tile matrix sets (only WebMercatorQuad)."""
    return {"tileMatrixSets": [{
        "id": TMS_ID, "title": "Google Maps Compatible for the World", "uri": TMS_URI,
        "links": [{"rel": "self", "type": "application/json",
                   "href": f"{base_url}/tileMatrixSets/{TMS_ID}"}],
    }]}
