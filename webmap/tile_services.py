"""The tile services of an app, built on first use and kept in `app.extensions`: the
one place the vector tile views, the PNG and raster views and the WSGI fast path
(webmap.tile_fastpath) get them from.

Vector tiles own an engine tuned for tile SQL and the disk tile cache; PNG and raster
tiles share that engine and cache, and Mapnik connects with the same database,
statement timeout and pool size."""
from __future__ import annotations

import threading

from flask import Flask, current_app

from tiles.cache import TileCache
from tiles.mapnik_postgis import PgSource
from tiles.png import PngTiles
from tiles.raster import RasterTiles
from tiles.vector import VectorTiles, make_tile_engine

from .read_target import read_target, target_suffix
from .request_budget import PNG_WAIT_S

VECTOR_KEY = "gisdb.tiles"
CACHE_KEY = "gisdb.tile_cache"
PNG_KEY = "gisdb.png_tiles"
RASTER_KEY = "gisdb.raster_tiles"
_LOCK = threading.Lock()


def vector_tiles(app: Flask | None = None) -> VectorTiles:
    """The app's VectorTiles on the request's database (the primary, or the replica it
    reads from: one service each, sharing the tile cache, whose keys follow the data
    versions). `app` defaults to the current app (the fast path, outside Flask's request
    cycle, passes its own). Once built, a dict lookup: it runs per tile."""
    ext = (app or current_app).extensions
    key = VECTOR_KEY + target_suffix()
    if key not in ext:
        settings, replica = ext["gisdb"].settings, read_target()
        url = None if replica is None else replica.url
        _build(ext, CACHE_KEY, lambda: TileCache.from_settings(settings))
        _build(ext, key, lambda: VectorTiles(make_tile_engine(settings, url), ext[CACHE_KEY]))
    return ext[key]


def png_tiles() -> PngTiles:
    """The current app's PNG tiles of the vector layers and the base map."""
    ext, key = current_app.extensions, PNG_KEY + target_suffix()
    if key not in ext:
        vector, settings = vector_tiles(), ext["gisdb"].settings
        slots = ext["gisdb.heavy.png"]          # renders (not cache hits) wait for a slot
        _build(ext, key, lambda: PngTiles(vector.engine, vector.cache, PgSource.from_engine(
            vector.engine, settings.statement_timeout_ms, settings.pool_size),
            render_gate=lambda: slots.slot(wait_s=PNG_WAIT_S)))
    return ext[key]


def raster_tiles() -> RasterTiles:
    """The current app's tiles and catalog of the raster layers."""
    ext, key = current_app.extensions, RASTER_KEY + target_suffix()
    if key not in ext:
        vector = vector_tiles()
        _build(ext, key, lambda: RasterTiles(vector.engine, ext["gisdb"].settings,
                                                    vector.cache))
    return ext[key]


def _build(ext: dict, key: str, make) -> None:
    """`ext[key] = make()` once, even when several threads ask at the same time."""
    with _LOCK:
        if key not in ext:
            ext[key] = make()
