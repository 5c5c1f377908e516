"""PNG tiles of the raster catalog's layers (COGs under `data/rasters`), read with
rio-tiler: pure functions from (COG path, catalog entry, tile, options) to
`(png_bytes, "image/png")`.

- elevation rasters (DEMs): heights rescaled between the catalog's band minimum and
  maximum, coloured with a colour map (`terrain` by default) and shaded with a hillshade
  computed from the tile's own heights (light from the north-west, 45 degrees up; one
  pixel of buffer read around the tile so shading has no seams);
- image rasters (RGB / RGBA bytes): drawn as they are;
- other rasters: the first band rescaled to grey, or coloured by `colormap`.
Nodata (and anything outside the raster) is transparent. A tile entirely outside the
raster's bounds is a fully transparent PNG (200), so every map client draws it as "no
data" without an error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import numpy as np
import rasterio
import sqlalchemy as sa
from rio_tiler.colormap import apply_cmap, cmap
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader
from rio_tiler.utils import render

from gisdb.errors import InvalidParameter, NotFound
from gisdb.rasters import GDAL_SAFE_ENV, get_raster, list_rasters, raster_path
from gisdb.settings import Settings

from .cache import CachedTile, TileCache, tile_etag
from .grid import TILE_SIZE, Tile, mercator_to_lat
from .png import ImageTile

MEDIA_TYPE = "image/png"
DEFAULT_ELEVATION_COLORMAP = "terrain"
SUN_AZIMUTH_DEG = 315.0
SUN_ALTITUDE_DEG = 45.0
HILLSHADE_EXAGGERATION = 1.5
SEA_TOP = 50                  # terrain colour map: index of the shallowest water colour
LAND_BOTTOM = 64              # ... and of the lowest land colour
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class RasterOptions:
    """How to draw a raster tile (from the request's query string)."""

    colormap: str | None = None
    hillshade: bool = False
    scale: int = 1

    def key(self) -> tuple:
        return (self.colormap or "", self.hillshade, self.scale)


def colormap_names() -> list[str]:
    return sorted(cmap.list())


def parse_options(entry: Mapping, args: Mapping[str, str], scale: int = 1) -> RasterOptions:
    """Options for `entry` from query parameters `colormap` (a rio-tiler colour map name,
    or `none` for grey) and `hillshade`; unknown values are an InvalidParameter (400).
    Elevation defaults: terrain + hillshade; images are drawn as they are."""
    elevation = entry.get("kind") == "elevation"
    name = args.get("colormap")
    if name in (None, ""):
        name = DEFAULT_ELEVATION_COLORMAP if elevation else None
    else:
        name = name.strip().lower()
        if name in ("none", "grey", "gray"):
            name = None
        elif name not in cmap.list():
            raise InvalidParameter(f"unknown colormap {name!r}; use one of "
                                   f"{', '.join(colormap_names()[:12])}, ... (see /rasters)")
    raw = args.get("hillshade")
    if raw in (None, ""):
        hillshade = elevation
    elif raw.strip().lower() in TRUE_WORDS:
        hillshade = True
    elif raw.strip().lower() in FALSE_WORDS:
        hillshade = False
    else:
        raise InvalidParameter(f"hillshade must be true or false, got {raw[:20]!r}")
    if entry.get("kind") == "image":
        name, hillshade = None, False
    if scale not in (1, 2):
        raise InvalidParameter("scale must be 1 or 2 (@2x)")
    return RasterOptions(colormap=name, hillshade=hillshade, scale=scale)


@lru_cache(maxsize=4)
def empty_png(scale: int = 1) -> bytes:
    """A fully transparent tile: what a tile outside the raster looks like."""
    size = TILE_SIZE * scale
    return render(np.zeros((1, size, size), dtype="uint8"),
                  np.zeros((size, size), dtype="uint8"), img_format="PNG")


def band_range(entry: Mapping) -> tuple[float, float] | None:
    """(min, max) of band 1 from the catalog statistics, when known and not flat."""
    bands = (entry.get("stats") or {}).get("bands") or []
    if not bands:
        return None
    lo, hi = bands[0].get("min"), bands[0].get("max")
    if lo is None or hi is None or not hi > lo:
        return None
    return float(lo), float(hi)


def read_tile(path: Path, tile: Tile, *, scale: int = 1, buffer: int = 0):
    """The tile's pixels as a masked array (bands, rows, cols), or None when the tile is
    outside the raster. `buffer` extra pixels are read on each side."""
    size = TILE_SIZE * scale
    with rasterio.Env(**GDAL_SAFE_ENV), Reader(str(path)) as reader:
        if not reader.tile_exists(tile.x, tile.y, tile.z):
            return None
        try:
            image = reader.tile(tile.x, tile.y, tile.z, tilesize=size,
                                buffer=buffer or None, resampling_method="bilinear")
        except TileOutsideBounds:
            return None
    return image.array


def _rescaled_bytes(band: np.ndarray, value_range: tuple[float, float] | None) -> np.ndarray:
    """Band values mapped linearly onto 0..255 (uint8)."""
    values = band.astype("float64")
    if value_range is None:
        valid = np.ma.compressed(np.ma.masked_invalid(np.ma.asarray(values)))
        value_range = (float(valid.min()), float(valid.max())) if valid.size else (0.0, 1.0)
    lo, hi = value_range
    span = hi - lo if hi > lo else 1.0
    return np.clip(np.round((np.ma.filled(values, lo) - lo) / span * 255.0), 0, 255).astype("uint8")


def _sea_level_index(band: np.ndarray, value_range: tuple[float, float] | None) -> np.ndarray:
    """Heights onto the `terrain` colour map with sea level at its water/land edge:
    depths use its blues (0..SEA_TOP), heights above 0 its greens to white (LAND_BOTTOM..255)."""
    values = np.ma.filled(band.astype("float64"), 0.0)
    lo, hi = value_range or (float(values.min()), float(values.max()))
    out = np.empty(values.shape, dtype="float64")
    below = values <= 0
    depth = min(lo, -1.0)
    out[below] = SEA_TOP * (1.0 - np.clip(values[below] / depth, 0.0, 1.0))
    top = max(hi, 1.0)
    out[~below] = LAND_BOTTOM + (255 - LAND_BOTTOM) * np.clip(values[~below] / top, 0.0, 1.0)
    return np.round(out).astype("uint8")


def hillshade(heights: np.ndarray, pixel_m: float, *, azimuth: float = SUN_AZIMUTH_DEG,
              altitude: float = SUN_ALTITUDE_DEG, exaggeration: float = HILLSHADE_EXAGGERATION
              ) -> np.ndarray:
    """Illumination 0..1 of each pixel: the cosine between the surface normal and the
    direction of the sun. Rows run south, columns east; `pixel_m` is the ground size."""
    z = heights.astype("float64") * exaggeration
    d_row, d_col = np.gradient(z, pixel_m)
    d_east, d_north = d_col, -d_row
    normal = np.stack([-d_east, -d_north, np.ones_like(z)])
    normal /= np.linalg.norm(normal, axis=0)
    az, alt = math.radians(azimuth), math.radians(altitude)
    sun = np.array([math.sin(az) * math.cos(alt), math.cos(az) * math.cos(alt), math.sin(alt)])
    return np.clip(np.tensordot(sun, normal, axes=1), 0.0, 1.0)


def _ground_pixel(tile: Tile, scale: int) -> float:
    """Ground size of a pixel in metres at the tile's centre latitude."""
    minx, miny, maxx, maxy = tile.bounds()
    lat = mercator_to_lat((miny + maxy) / 2.0)
    return tile.pixel / scale * math.cos(math.radians(lat))


def _shade(rgb: np.ndarray, light: np.ndarray) -> np.ndarray:
    """Multiply colours by the illumination, scaled so flat ground keeps its colour."""
    flat = math.sin(math.radians(SUN_ALTITUDE_DEG))
    factor = np.clip(0.35 + 0.65 * light / flat, 0.35, 1.2)
    return np.clip(rgb.astype("float64") * factor, 0, 255).astype("uint8")


def _tile_light(array: np.ndarray, tile: Tile, scale: int, buffer: int) -> np.ndarray:
    """Hillshade of band 1 of a buffered tile, cropped to the tile (nodata filled with
    the tile's mean height so holes do not cast shadows)."""
    heights = np.ma.filled(array[0].astype("float64"), np.nan)
    finite = np.isfinite(heights)
    heights = np.where(finite, heights, float(heights[finite].mean()) if finite.any() else 0.0)
    light = hillshade(heights, _ground_pixel(tile, scale))
    return light[buffer:-buffer, buffer:-buffer]


def _valid_mask(array: np.ndarray) -> np.ndarray:
    """uint8 alpha (255 valid, 0 nodata) of a masked (bands, rows, cols) array."""
    invalid = np.ma.getmaskarray(array).any(axis=0)
    if array.dtype.kind == "f":
        invalid |= ~np.isfinite(np.ma.getdata(array)).all(axis=0)
    return np.where(invalid, 0, 255).astype("uint8")


def render_raster_tile(path: Path, entry: Mapping, tile: Tile,
                       options: RasterOptions) -> tuple[bytes, str]:
    """PNG of raster `entry` (its COG at `path`) over `tile`, drawn as `options` say."""
    scale = options.scale
    kind = entry.get("kind")
    buffer = 1 if (options.hillshade and kind != "image") else 0
    array = read_tile(path, tile, scale=scale, buffer=buffer)
    if array is None:
        return empty_png(scale), MEDIA_TYPE
    light = None
    if buffer:
        light = _tile_light(array, tile, scale, buffer)
        array = array[:, buffer:-buffer, buffer:-buffer]
    alpha = _valid_mask(array)
    if not alpha.any():
        return empty_png(scale), MEDIA_TYPE
    if kind == "image":
        data = np.ma.filled(array[:3], 0).astype("uint8")
        return render(data, alpha, img_format="PNG"), MEDIA_TYPE
    if kind == "elevation" and options.colormap == DEFAULT_ELEVATION_COLORMAP:
        index = _sea_level_index(array[0], band_range(entry))
    else:
        index = _rescaled_bytes(array[0], band_range(entry))
    if options.colormap:
        coloured, _ = apply_cmap(index[np.newaxis], cmap.get(options.colormap))
        rgb = coloured[:3]
    else:
        rgb = np.repeat(index[np.newaxis], 3, axis=0)
    if light is not None:
        rgb = _shade(rgb, light)
    return render(rgb, alpha, img_format="PNG"), MEDIA_TYPE


class RasterTiles:
    """Tiles of the raster catalog over one engine, one settings and one tile cache.
    The cache key and ETag carry the raster's file hash and registration time, so
    re-adding a raster under the same name shows the new file at once."""

    def __init__(self, engine: sa.Engine, settings: Settings, cache: TileCache):
        self.engine = engine
        self.settings = settings
        self.cache = cache

    def catalog(self) -> list[dict]:
        with self.engine.connect() as conn:
            return list_rasters(conn)

    def entry(self, name: str) -> dict:
        with self.engine.connect() as conn:
            return get_raster(conn, name)

    def tile(self, name: str, tile: Tile, args: Mapping[str, str], scale: int = 1) -> ImageTile:
        """The PNG of raster `name` over `tile`; NotFound (404) for an unknown raster (or,
        on `load()`, a missing file), InvalidParameter (400) for bad options."""
        entry = self.entry(name)
        options = parse_options(entry, args, scale)
        added = entry.get("added_at")
        key = ("raster", name, entry["file_sha256"], added.isoformat() if added else "",
               tile.z, tile.x, tile.y, *options.key())

        def load() -> CachedTile:
            path = raster_path(self.settings, entry)
            if not path.is_file():
                raise NotFound(f"the file of raster {name!r} is missing: add it again")
            return self.cache.get_or_render(
                key, {}, lambda: render_raster_tile(path, entry, tile, options)[0])
        return ImageTile(tile_etag(key, {}), load)
