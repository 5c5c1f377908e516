"""The tile matrix sets (OGC 17-083r4, OGC API - Tiles): z/x/y validation, tile bounds,
and the tile matrix set documents.

One abstraction, `TileMatrixSet`, with two instances:
- **WebMercatorQuad** (EPSG:3857, one tile at zoom 0): the map's tiles, TileJSON, XYZ
  URLs, raster tiles and seeding;
- **WorldCRS84Quad** (CRS84 longitude/latitude, 2x1 tiles at zoom 0): offered beside it
  for the OGC API - Tiles collections (vector and PNG), since clients that work in
  geographic coordinates (GDAL's OGCAPI driver) read it without being told the area.

Both are quadtrees whose tiles are squares in their CRS; WorldCRS84Quad at zoom z has
the scale of WebMercatorQuad at zoom z + 1 (`zoom_offset`), so the registry's zoom ranges
and the generalisation policy, written for WebMercatorQuad zooms, apply through
`Tile.scale_zoom`.

Every tile endpoint parses its z/x/y here first, so bad input is a fast 400 before any
database work."""
from __future__ import annotations

import math
from dataclasses import dataclass

from gisdb.errors import InvalidParameter, NotFound

TILE_SIZE = 256
ORIGIN = 20037508.342789244           # half the equator in EPSG:3857 metres
PIXEL_MM = 0.28                       # the OGC standard rendering pixel (scale denominators)
EARTH_RADIUS = 6378137.0
METRES_PER_DEGREE = 2 * math.pi * EARTH_RADIUS / 360
MERCATOR_LAT = 85.0511287798


@dataclass(frozen=True, order=True)
class TileMatrixSet:
    """A quadtree tile matrix set: square tiles of `TILE_SIZE` pixels, origin top-left,
    `columns_z0` by 1 tiles at zoom 0 over `bounds` (minx, miny, maxx, maxy in its CRS)."""

    id: str
    title: str
    uri: str
    crs: str
    srid: int                    # of the PostGIS geometries cut on this grid
    geometry_column: str         # the layer tables' column stored in that SRID
    bounds: tuple[float, float, float, float]
    columns_z0: int
    max_zoom: int
    axes: tuple[str, str]
    well_known_scale_set: str

    @property
    def zoom_offset(self) -> int:
        """log2 of the zoom-0 columns: this grid's zoom z has the scale of WebMercatorQuad
        at z + offset, and its tiles are those of the square quadtree (`square_bounds`)
        at z + offset, as ST_TileEnvelope cuts them."""
        return self.columns_z0.bit_length() - 1

    @property
    def span_z0(self) -> float:
        """Side of a zoom-0 tile, in CRS units."""
        return (self.bounds[2] - self.bounds[0]) / self.columns_z0

    @property
    def square_bounds(self) -> tuple[float, float, float, float]:
        """The square, top-left aligned with the grid, whose quadtree holds its tiles."""
        minx, _, maxx, maxy = self.bounds
        return (minx, maxy - (maxx - minx), maxx, maxy)

    @property
    def metres_per_unit(self) -> float:
        return METRES_PER_DEGREE if self.srid == 4326 else 1.0

    def matrix_size(self, z: int) -> tuple[int, int]:
        """(columns, rows) of the tile matrix at zoom z."""
        rows = round((self.bounds[3] - self.bounds[1]) / self.span_z0)
        return self.columns_z0 << z, rows << z

    def to_lonlat(self, x: float, y: float) -> tuple[float, float]:
        """A point of this CRS as (lon, lat) degrees."""
        if self.srid == 4326:
            return x, y
        return mercator_to_lon(x), mercator_to_lat(y)

    def from_lonlat(self, lon: float, lat: float) -> tuple[float, float]:
        """(lon, lat) degrees as a point of this CRS (latitudes clamped to the grid)."""
        if self.srid == 4326:
            return lon, max(min(lat, 90.0), -90.0)
        lat = max(min(lat, MERCATOR_LAT), -MERCATOR_LAT)
        return lon / 180.0 * ORIGIN, ORIGIN / math.pi * math.asinh(math.tan(math.radians(lat)))

    def tile_at(self, lon: float, lat: float, z: int) -> tuple[int, int]:
        """Column and row of the tile holding (lon, lat) at zoom z (clamped to the grid)."""
        x, y = self.from_lonlat(lon, lat)
        size = self.span_z0 / (1 << z)
        columns, rows = self.matrix_size(z)
        col = int((x - self.bounds[0]) / size)
        row = int((self.bounds[3] - y) / size)
        return min(max(col, 0), columns - 1), min(max(row, 0), rows - 1)

    def self_link(self, base_url: str) -> dict:
        return {"rel": "self", "type": "application/json",
                "href": f"{base_url}/tileMatrixSets/{self.id}"}

    def scale_denominator(self, z: int) -> float:
        """The OGC scale denominator of zoom `z` (a 0.28 mm pixel), as Mapnik computes it
        for a rendering of the same scale."""
        return self.span_z0 / TILE_SIZE * self.metres_per_unit / (PIXEL_MM / 1000) / (1 << z)

    def document(self, base_url: str = "") -> dict:
        """The tile matrix set document (OGC Two Dimensional Tile Matrix Set 2.0, with the
        members of TMS 1.0 beside them, see `_tms_1_0_members`)."""
        cell_z0 = self.span_z0 / TILE_SIZE
        origin = [self.bounds[0], self.bounds[3]]
        matrices = []
        for z in range(self.max_zoom + 1):
            columns, rows = self.matrix_size(z)
            matrices.append({
                "id": str(z),
                "scaleDenominator": self.scale_denominator(z),
                "cellSize": cell_z0 / (1 << z),
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": origin,
                "topLeftCorner": origin,
                "tileWidth": TILE_SIZE,
                "tileHeight": TILE_SIZE,
                "matrixWidth": columns,
                "matrixHeight": rows,
            })
        return {
            "id": self.id, "title": self.title, "uri": self.uri, "crs": self.crs,
            "orderedAxes": list(self.axes), "wellKnownScaleSet": self.well_known_scale_set,
            "tileMatrices": matrices, "links": [self.self_link(base_url)],
            **_tms_1_0_members(self, matrices),
        }


def _tms_1_0_members(tms: TileMatrixSet, matrices: list[dict]) -> dict:
    """The same grid in the members of TMS 1.0 (OGC 17-083r2 JSON): GDAL 3.6 parses a
    tiling scheme only when it finds them (and reads each matrix's `topLeftCorner`, also
    written beside `pointOfOrigin`); a TMS 2.0 reader ignores them."""
    return {
        "type": "TileMatrixSetType",
        "identifier": tms.id,
        "supportedCRS": tms.crs,
        "tileMatrix": [{"type": "TileMatrixType", "identifier": m["id"],
                        "scaleDenominator": m["scaleDenominator"],
                        "topLeftCorner": m["pointOfOrigin"],
                        "tileWidth": m["tileWidth"], "tileHeight": m["tileHeight"],
                        "matrixWidth": m["matrixWidth"], "matrixHeight": m["matrixHeight"]}
                       for m in matrices],
    }


WEB_MERCATOR_QUAD = TileMatrixSet(
    id="WebMercatorQuad", title="Google Maps Compatible for the World",
    uri="http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
    crs="http://www.opengis.net/def/crs/EPSG/0/3857", srid=3857, geometry_column="geom_3857",
    bounds=(-ORIGIN, -ORIGIN, ORIGIN, ORIGIN), columns_z0=1, max_zoom=24, axes=("X", "Y"),
    well_known_scale_set="http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible")
WORLD_CRS84_QUAD = TileMatrixSet(
    id="WorldCRS84Quad", title="CRS84 for the World",
    uri="http://www.opengis.net/def/tilematrixset/OGC/1.0/WorldCRS84Quad",
    crs="http://www.opengis.net/def/crs/OGC/1.3/CRS84", srid=4326, geometry_column="geom",
    bounds=(-180.0, -90.0, 180.0, 90.0), columns_z0=2, max_zoom=23, axes=("Lon", "Lat"),
    well_known_scale_set="http://www.opengis.net/def/wkss/OGC/1.0/GoogleCRS84Quad")
MATRIX_SETS = {tms.id: tms for tms in (WEB_MERCATOR_QUAD, WORLD_CRS84_QUAD)}

# the default grid (XYZ URLs, TileJSON, rasters, seeding) by its old names
TMS_ID = WEB_MERCATOR_QUAD.id
MAX_ZOOM = WEB_MERCATOR_QUAD.max_zoom


def matrix_set(name: str, allowed=tuple(MATRIX_SETS)) -> TileMatrixSet:
    """The tile matrix set called `name` among `allowed` ids; NotFound (404) otherwise."""
    if name in allowed:
        return MATRIX_SETS[name]
    raise NotFound(f"no tile matrix set named {str(name)[:40]!r} (only {', '.join(allowed)})")


@dataclass(frozen=True, order=True)
class Tile:
    """One tile: zoom, column (x) and row (y), origin top-left, of a tile matrix set."""

    z: int
    x: int
    y: int
    tms: TileMatrixSet = WEB_MERCATOR_QUAD

    @property
    def size(self) -> float:
        """Width of the tile in its CRS units (EPSG:3857 metres, or degrees)."""
        return self.tms.span_z0 / (1 << self.z)

    @property
    def pixel(self) -> float:
        """Width of one pixel of a 256-pixel rendering, in CRS units."""
        return self.size / TILE_SIZE

    @property
    def scale_zoom(self) -> int:
        """The WebMercatorQuad zoom of the same scale: what the registry's zoom ranges
        and the generalisation policy are written for."""
        return self.z + self.tms.zoom_offset

    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) in the tile matrix set's CRS."""
        minx = self.tms.bounds[0] + self.x * self.size
        maxy = self.tms.bounds[3] - self.y * self.size
        return (minx, maxy - self.size, minx + self.size, maxy)

    def lonlat_bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in degrees."""
        minx, miny, maxx, maxy = self.bounds()
        return (*self.tms.to_lonlat(minx, miny), *self.tms.to_lonlat(maxx, maxy))


def _integer(name: str, raw) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    text = str(raw).strip()
    if not text.isascii() or not text.isdigit():
        raise InvalidParameter(f"{name} must be a non-negative integer, got {str(raw)[:20]!r}")
    return int(text)


def parse_tile(z, x, y, *, max_zoom: int | None = None,
               tms: TileMatrixSet = WEB_MERCATOR_QUAD) -> Tile:
    """A validated Tile of `tms` from raw path values; InvalidParameter (400) otherwise."""
    top = tms.max_zoom if max_zoom is None else max_zoom
    zi = _integer("z", z)
    if zi > top:
        raise InvalidParameter(f"z must be between 0 and {top}, got {zi}")
    xi, yi = _integer("x", x), _integer("y", y)
    columns, rows = tms.matrix_size(zi)
    if xi >= columns or yi >= rows:
        raise InvalidParameter(f"at zoom {zi} of {tms.id}, x must be between 0 and {columns - 1}"
                               f" and y between 0 and {rows - 1}")
    return Tile(zi, xi, yi, tms)


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


def lonlat_to_tile(lon: float, lat: float, z: int,
                   tms: TileMatrixSet = WEB_MERCATOR_QUAD) -> tuple[int, int]:
    """Column and row of the tile holding (lon, lat) at zoom z (clamped to the grid)."""
    return tms.tile_at(lon, lat, z)


def tiles_in_bbox(bbox: tuple[float, float, float, float], z: int,
                  tms: TileMatrixSet = WEB_MERCATOR_QUAD):
    """Every tile of zoom z touching a (west, south, east, north) box, row by row."""
    west, south, east, north = bbox
    x0, y0 = tms.tile_at(west, north, z)
    x1, y1 = tms.tile_at(east, south, z)
    for y in range(y0, y1 + 1):
        for x in range(x0, x1 + 1):
            yield Tile(z, x, y, tms)


def count_tiles_in_bbox(bbox: tuple[float, float, float, float], z: int,
                        tms: TileMatrixSet = WEB_MERCATOR_QUAD) -> int:
    west, south, east, north = bbox
    x0, y0 = tms.tile_at(west, north, z)
    x1, y1 = tms.tile_at(east, south, z)
    return (x1 - x0 + 1) * (y1 - y0 + 1)


def tile_matrix_sets(base_url: str = "") -> dict:
    """The list of the supported tile matrix sets."""
    return {"tileMatrixSets": [{"id": tms.id, "title": tms.title, "uri": tms.uri,
                                "crs": tms.crs, "links": [tms.self_link(base_url)]}
                               for tms in MATRIX_SETS.values()]}
