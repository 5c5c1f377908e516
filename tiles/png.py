"""PNG tiles of the vector layers, drawn by Mapnik with the registry's cartography.

Pure functions: a tile in, `(png_bytes, "image/png")` out. Mapnik reads PostGIS through
its own `postgis` datasource (see `tiles.mapnik_postgis`: subqueries from the registry,
statement timeout, error mapping) and draws with the XML built in `tiles.mapnik_style`.

Mapnik `Map` objects are not thread-safe and their datasources hold pooled connections,
so each thread keeps its own maps (per source, grid, layer set and scale) and reuses
them: a request only switches layers on or off for its zoom and renders. Layers outside
their zoom range are not drawn; labels start at `label_min_zoom`. A tile of
WorldCRS84Quad is drawn by a map in EPSG:4326 from the tables' `geom` column (a
WebMercatorQuad tile: EPSG:3857 and `geom_3857`); zooms are compared at the tile's
`scale_zoom`. `PngTiles` adds the cache:
a tile's key and ETag hold its layers' data versions, so an edit shows at once.
"""
from __future__ import annotations

import hashlib
import threading
from contextlib import nullcontext
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, ContextManager

import sqlalchemy as sa

from gisdb.engine import db_errors
from gisdb.errors import DatabaseUnavailable, InvalidParameter, NotFound
from gisdb.temporal import AsOf, TimeRange
from gisdb.versions import table_versions
from layers.layer import Layer
from layers.registry import get_layer
from layers.themes import get_theme
from layers.visibility import visible_ids

from .basemap_png import base_digest, render_base_png
from .cache import CachedTile, TileCache, tile_etag
from .grid import TILE_SIZE, WEB_MERCATOR_QUAD, Tile, TileMatrixSet
from .mapnik_postgis import PgSource, connection_slot, feature_table, label_table, mapnik_errors
from .mapnik_style import (
    BUFFER_PX,
    LABEL_SUFFIX,
    draw_order,
    label_min_zoom,
    load_mapnik,
    map_xml,
    register_fonts,
)
from .png_look import PLAIN, Look, check_look, matching_ids
from .url_version import newest_version

MEDIA_TYPE = "image/png"
SCALES = (1, 2)
MAX_LAYERS = 16
PNG_FORMAT = "png8:m=h"          # 8-bit palette with alpha, hextree quantiser (keeps colours)


def parse_layer_list(text: str) -> tuple[str, ...]:
    """'roads,buildings' -> ('roads', 'buildings'): known layers, no repeats, order kept.
    Unknown layer: NotFound (404); a layer hidden from the caller is left out (NotFound
    when every one is)."""
    ids = tuple(dict.fromkeys(part.strip() for part in str(text).split(",") if part.strip()))
    if not ids:
        raise InvalidParameter("name at least one layer, e.g. /tiles/roads,buildings/14/13063/7601.png")
    if len(ids) > MAX_LAYERS:
        raise InvalidParameter(f"at most {MAX_LAYERS} layers per tile")
    ids = tuple(visible_ids(ids)) or ids
    for layer_id in ids:
        get_layer(layer_id)
    return ids


def check_scale(scale) -> int:
    if scale not in SCALES:
        raise InvalidParameter("scale must be 1 or 2 (@2x)")
    return int(scale)


def visible_layers(layer_ids: tuple[str, ...], z: int) -> list[Layer]:
    """The layers among `layer_ids` whose zoom range holds `z`, in draw order."""
    layers = [get_layer(i) for i in layer_ids]
    return draw_order([lyr for lyr in layers if lyr.min_zoom <= z <= lyr.max_zoom])


def data_tables(layer_ids: tuple[str, ...]) -> list[str]:
    """`schema.table` names whose data versions key these layers' tiles."""
    return sorted({get_layer(i).table_name for i in layer_ids})


# --- maps ------------------------------------------------------------------------------------

_THREAD = threading.local()
MAPS_PER_THREAD = 32


def _build_map(source: PgSource, layer_ids: tuple[str, ...], tms: TileMatrixSet, scale: int,
               as_of: AsOf | None = None, span: TimeRange | None = None,
               theme: str | None = None, ids: tuple[int, ...] | None = None):
    """A Mapnik map drawing `layer_ids` on the grid `tms` at `scale`, connected to `source`
    (as of an instant and at the data's time `span` when given; one layer in its `theme`,
    only the features `ids`, when given)."""
    mapnik = load_mapnik()
    register_fonts()
    size = TILE_SIZE * scale
    m = mapnik.Map(size, size)
    mapnik.load_map_from_string(m, map_xml(layer_ids, tms.srid, theme))
    m.buffer_size = BUFFER_PX * scale
    tables = _layer_tables(layer_ids, tms, theme, as_of=as_of, span=span, ids=ids)
    with connection_slot(source), mapnik_errors():
        for lyr in m.layers:
            lyr.datasource = mapnik.Datasource(**source.datasource_params(tables[lyr.name], tms))
    return m


def _cached_map(key: tuple, build: Callable[[], object]):
    """This thread's Map for `key`, built on first use."""
    maps = getattr(_THREAD, "maps", None)
    if maps is None or len(maps) >= MAPS_PER_THREAD:
        maps = _THREAD.maps = {}
    if key not in maps:
        maps[key] = build()
    return maps[key]


def _layer_tables(layer_ids: tuple[str, ...], tms: TileMatrixSet = WEB_MERCATOR_QUAD,
                  theme: str | None = None, as_of: AsOf | None = None,
                  span: TimeRange | None = None,
                  ids: tuple[int, ...] | None = None) -> dict[str, str]:
    """Mapnik layer name -> plugin subquery on the grid's geometry column, for the layers
    and their labels (as of an instant, and at the data's time `span`, when given; a
    one-layer tile's `theme` and filtered `ids` likewise)."""
    tables, column = {}, tms.geometry_column
    for layer in map(get_layer, layer_ids):
        chosen = get_theme(layer, theme) if theme else None
        tables[layer.id] = feature_table(layer, chosen, column, as_of=as_of, span=span, ids=ids)
        if layer.label_field:
            tables[layer.id + LABEL_SUFFIX] = label_table(layer, chosen, column, as_of=as_of,
                                                          span=span, ids=ids)
    return tables


def _active(layer_ids: tuple[str, ...], z: int) -> dict[str, bool]:
    """Which Mapnik layers draw at zoom z: each layer in its zoom range, labels from
    their own first zoom."""
    out = {}
    for layer in map(get_layer, layer_ids):
        shown = layer.min_zoom <= z <= layer.max_zoom
        out[layer.id] = shown
        out[layer.id + LABEL_SUFFIX] = shown and z >= label_min_zoom(layer)
    return out


def _render(source: PgSource, m, active: dict[str, bool], tile: Tile, scale: int) -> bytes:
    mapnik = load_mapnik()
    for lyr in m.layers:
        lyr.active = active.get(lyr.name, False)
    if not any(active.values()):
        return empty_png(scale)
    m.zoom_to_box(mapnik.Box2d(*tile.bounds()))
    size = TILE_SIZE * scale
    image = mapnik.Image(size, size)
    with connection_slot(source), mapnik_errors():
        mapnik.render(m, image, float(scale))
    return image.to_string(PNG_FORMAT)


@lru_cache(maxsize=4)
def empty_png(scale: int = 1) -> bytes:
    """A fully transparent tile (what a tile with nothing to draw looks like)."""
    mapnik = load_mapnik()
    size = TILE_SIZE * scale
    return mapnik.Image(size, size).to_string(PNG_FORMAT)


def render_layers_png(source: PgSource, layer_ids: tuple[str, ...], tile: Tile,
                      scale: int = 1, as_of: AsOf | None = None,
                      span: TimeRange | None = None, theme: str | None = None,
                      ids: tuple[int, ...] | None = None) -> tuple[bytes, str]:
    """PNG of `layer_ids` over `tile`, transparent where there is nothing to draw; with
    `as_of`, of the database as it was then, with `span` (`datetime`), of the features
    of that time (a Map of its own per instant and span); in a `theme`; with `ids` (a
    filtered tile), of those features only, on a Map of its own that is not kept."""
    check_scale(scale)
    if ids is not None and not ids:
        return empty_png(scale), MEDIA_TYPE
    ordered = tuple(lyr.id for lyr in draw_order([get_layer(i) for i in layer_ids]))

    def build():
        return _build_map(source, ordered, tile.tms, scale, as_of, span, theme, ids)
    m = build() if ids is not None else _cached_map(
        ("layers", source, tile.tms.id, ordered, scale, as_of and as_of.text, span, theme), build)
    return _render(source, m, _active(ordered, tile.scale_zoom), tile, scale), MEDIA_TYPE


@lru_cache(maxsize=256)
def style_digest(layer_ids: tuple[str, ...], tms: TileMatrixSet = WEB_MERCATOR_QUAD,
                 theme: str | None = None) -> str:
    """Fingerprint of the cartography and its queries on a grid, part of every cache key
    so a style change never serves tiles drawn with the old one."""
    xml, tables = map_xml(layer_ids, tms.srid, theme), _layer_tables(layer_ids, tms, theme)
    label_zooms = [label_min_zoom(get_layer(i)) for i in layer_ids]
    text = xml + repr(sorted(tables.items())) + repr(label_zooms)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class ImageTile:
    """A PNG tile (vector layers or rasters) whose tag is known before its bytes: the web
    layer may answer 304 without drawing or reading the cache; `load()` gives the bytes
    (cached or drawn) with whether they came from the cache."""

    etag: str
    load: Callable[[], CachedTile]
    media_type: str = MEDIA_TYPE
    version: int | None = None      # the layers' URL version, when the request named one


class PngTiles:
    """PNG tiles of the registry's layers (and the base map) over one engine and cache.
    A tile's key and ETag include its layers' data versions: edits show at once."""

    def __init__(self, engine: sa.Engine, cache: TileCache, source: PgSource,
                 render_gate: Callable[[], ContextManager] = nullcontext):
        self.engine = engine
        self.cache = cache
        self.source = source
        self.render_gate = render_gate      # held around a render (not a cache hit)
        self._source_worked = False

    def layers_tile(self, layer_ids: tuple[str, ...], tile: Tile, scale: int = 1,
                    as_of: AsOf | None = None, span: TimeRange | None = None,
                    look: Look = PLAIN, versioned: bool = False) -> ImageTile:
        """The PNG tile of the layers (as of an instant when given: keyed by the instant,
        and by the data versions too while it is not settled; at the data's time `span`;
        one layer's theme and filter by `look`). `versioned`: its `version` says the
        layers' URL version (tiles.url_version)."""
        check_scale(scale)
        check_look(layer_ids, look, get_layer(layer_ids[0]))
        shown = tuple(lyr.id for lyr in visible_layers(layer_ids, tile.scale_zoom))
        key = ("png", tile.tms.id, style_digest(layer_ids, tile.tms, look.theme),
               ",".join(layer_ids), tile.z, tile.x, tile.y, scale)
        if look != PLAIN:
            key += look.key()
        if span is not None:
            key += ("datetime", repr(span))
        tables = data_tables(shown) if shown else []
        if as_of is not None:
            key += ("as_of", as_of.text)
            tables = [] if as_of.settled() else tables
        every = data_tables(layer_ids) if versioned and as_of is None else None
        return self._answer(key, tables, lambda: render_layers_png(
            self.source, layer_ids, tile, scale, as_of, span, look.theme,
            self._ids(layer_ids, look, tile, as_of))[0], every)

    def _ids(self, layer_ids: tuple[str, ...], look: Look, tile: Tile,
             as_of: AsOf | None) -> tuple[int, ...] | None:
        """The filtered tile's feature ids (None: not filtered)."""
        if not look.filtered or tile.scale_zoom < get_layer(layer_ids[0]).min_zoom:
            return None if not look.filtered else ()
        with db_errors(), self.engine.connect() as conn:
            return matching_ids(conn, get_layer(layer_ids[0]), look, tile, as_of)

    def base_tile(self, tile: Tile, scale: int = 1) -> ImageTile:
        check_scale(scale)
        # the base map reads only its shipped files: their digest stands for data versions
        key = ("png-base", base_digest(), tile.z, tile.x, tile.y, scale)
        return self._answer(key, [], lambda: render_base_png(tile, scale)[0])

    def _answer(self, key: tuple, tables: list[str], draw: Callable[[], bytes],
                every: list[str] | None = None) -> ImageTile:
        """The tile's tag now, its bytes when the web layer asks (`load`); both retried once
        on fresh connections when the database was lost: the tile engine is not pre-pinged
        and Mapnik's pool keeps dead connections, so after a restart each pooled connection
        would otherwise fail one request. `every`: the tables whose versions make the URL
        version (a superset of `tables`, read in the same query)."""
        read = self._retried(lambda: self._versions(tables if every is None else every))
        versions = {table: read.get(table, 0) for table in tables} if every else read
        version = None if every is None else newest_version(read.values())
        return ImageTile(tile_etag(key, versions), lambda: self._retried(
            lambda: self.cache.get_or_render(key, versions, self._gated(draw))), version=version)

    def _versions(self, tables: list[str]) -> dict:
        if not tables:                # the base map has none: it needs no database
            return {}
        with db_errors(), self.engine.connect() as conn:
            return table_versions(conn, tables)

    def _retried(self, step: Callable):
        try:
            result = step()
        except DatabaseUnavailable:
            self.engine.dispose(close=False)
            if self._source_worked:         # not again and again while the database is down
                self.source, self._source_worked = self.source.renewed(), False
            result = step()
        self._source_worked = True
        return result

    def _gated(self, draw: Callable[[], bytes]) -> Callable[[], bytes]:
        def gated_draw() -> bytes:
            with self.render_gate():
                return draw()
        return gated_draw


def check_zoom(layer_id: str, tile: Tile) -> None:
    """NotFound (404) when `tile`'s zoom is outside the layer's zoom range in its tile
    matrix set (OGC tile matrix limits)."""
    layer = get_layer(layer_id)
    if not layer.min_zoom <= tile.scale_zoom <= layer.max_zoom:
        offset = tile.tms.zoom_offset
        raise NotFound(f"layer {layer_id!r} has {tile.tms.id} tiles from zoom "
                       f"{max(layer.min_zoom - offset, 0)} to {layer.max_zoom - offset}, not {tile.z}")
