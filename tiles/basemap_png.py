"""PNG tiles of the offline base map of the real Da Nang (cartography in
`tiles.basemap_style`, data in `layers.basemap`): a pure function, tile in, opaque PNG out.

It reads only the shipped files, never the database, so it has no data versions: the
files' digest keys its cache and ETag instead. Each thread keeps its own Mapnik map per
scale (Mapnik maps are not thread-safe).
"""
from __future__ import annotations

import hashlib
import threading

from layers.basemap import files_digest

from .basemap_style import base_map_xml
from .grid import TILE_SIZE, Tile
from .mapnik_style import BUFFER_PX, load_mapnik, register_fonts

MEDIA_TYPE = "image/png"
PNG_FORMAT = "png8:m=h"
_THREAD = threading.local()


def _base_map(scale: int):
    maps = getattr(_THREAD, "base_maps", None)
    if maps is None:
        maps = _THREAD.base_maps = {}
    if scale not in maps:
        mapnik = load_mapnik()
        register_fonts()
        size = TILE_SIZE * scale
        m = mapnik.Map(size, size)
        mapnik.load_map_from_string(m, base_map_xml())
        m.buffer_size = BUFFER_PX * scale
        maps[scale] = m
    return maps[scale]


def render_base_png(tile: Tile, scale: int = 1) -> tuple[bytes, str]:
    """The base map over `tile`: land, land use, hillshade, water, sea, wards, names."""
    mapnik = load_mapnik()
    m = _base_map(scale)
    m.zoom_to_box(mapnik.Box2d(*tile.bounds()))
    size = TILE_SIZE * scale
    image = mapnik.Image(size, size)
    mapnik.render(m, image, float(scale))
    return image.to_string(PNG_FORMAT), MEDIA_TYPE


def base_digest() -> str:
    """What a base tile depends on besides its address: the shipped files and the style."""
    return hashlib.sha256((files_digest() + base_map_xml()).encode()).hexdigest()[:16]
