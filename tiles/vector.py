"""Vector tiles as a service: validated request -> cached, gzipped MVT bytes + ETag.

`VectorTiles.tile(...)` is what the web views and the seeder call. It validates z/x/y and
the layer list, turns the optional CQL2 `filter` (with `filter-lang`, `filter-crs`) and
`datetime` into SQL conditions per layer by the feature API's rules
(`layers.filter_rules`), reads the data versions of the tile's layers, and returns the
tile from the cache or renders it (one statement, see `tiles.mvt`).
Tiles are stored gzipped (level 1: cheaper than the query); empty tiles are b"".
"""
from __future__ import annotations

import gzip
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import event

try:
    from isal import igzip
except ImportError:              # optional speed-up: plain gzip works the same
    igzip = None

from gisdb.engine import db_errors, make_engine
from gisdb.errors import DatabaseUnavailable, InvalidParameter
from gisdb.temporal import AsOf
from gisdb.versions import VERSIONS_SQL, table_versions
from layers.filter_rules import cql2_clause, datetime_clause
from layers.registry import get_layer
from layers.visibility import visible_ids

from .cache import TileCache, tile_etag
from .driver import driver_errors, pooled, psycopg_connection
from .grid import WEB_MERCATOR_QUAD, Tile, TileMatrixSet, parse_tile
from .mvt import MEDIA_TYPE, render_mvt, render_mvt_versions, visible_layers
from .url_version import newest_version

MAX_LAYERS = 16
GZIP_LEVEL = 1


@dataclass(frozen=True)
class VectorTile:
    """A rendered tile: gzipped MVT bytes (b"" when empty), its ETag, cache hit or not."""

    gzipped: bytes
    etag: str
    hit: bool
    media_type: str = MEDIA_TYPE
    version: int | None = None      # the layers' URL version, when the request named one

    @property
    def empty(self) -> bool:
        return not self.gzipped

    def body(self) -> bytes:
        """The uncompressed MVT (for clients that do not accept gzip)."""
        return gzip.decompress(self.gzipped) if self.gzipped else b""


def make_tile_engine(settings, url: str | None = None) -> sa.Engine:
    """An engine for tile SQL: the project's bounded, pre-pinged pool with the statement
    timeout, plus session settings that keep tile plans on the spatial index (no parallel
    workers: a parallel sequential scan is the classic slow tile) and without JIT (its
    compile time dwarfs a tile query). Read-only, so autocommit: no BEGIN/ROLLBACK round
    trips around each tile. Not pre-pinged either: `VectorTiles` retries once instead.
    `url` names a read replica of the database instead of the settings' own server."""
    engine = make_engine(settings, application_name="gisdb-tiles", pre_ping=False,
                         isolation_level="AUTOCOMMIT", url=url)

    @event.listens_for(engine, "connect")
    def _tile_session(dbapi_conn, _record):
        with dbapi_conn.cursor() as cur:
            cur.execute("SET max_parallel_workers_per_gather = 0")
            cur.execute("SET jit = off")
        dbapi_conn.commit()

    return engine


def parse_layers(text: str) -> list:
    """'roads,buildings' -> [Layer, Layer]; unknown id -> NotFound (404). A layer hidden
    from the caller is left out (NotFound when every one is)."""
    ids = [part.strip() for part in str(text).split(",")]
    if not ids or any(not part for part in ids):
        raise InvalidParameter("layers must be a comma-separated list of layer ids")
    if len(ids) > MAX_LAYERS:
        raise InvalidParameter(f"at most {MAX_LAYERS} layers in one tile")
    if len(set(ids)) != len(ids):
        raise InvalidParameter("a layer is listed twice")
    return [get_layer(layer_id) for layer_id in (visible_ids(ids) or ids)]


class VectorTiles:
    """Vector tiles of the registry's layers over one engine and one cache."""

    def __init__(self, engine: sa.Engine, cache: TileCache):
        self.engine = engine
        self.cache = cache
        self.binary = engine.dialect.driver == "psycopg"    # see tiles.driver

    def conditions(self, layers, filter_text=None, filter_lang=None, datetime=None,
                   filter_crs=None) -> dict:
        """Per-layer SQL conditions of a request's filter and datetime."""
        if datetime and len(layers) == 1 and not layers[0].time_field:
            raise InvalidParameter(f"layer {layers[0].id!r} has no time field for datetime")
        wheres = {}
        for layer in layers:
            parts = [c for c in (cql2_clause(layer, filter_text, filter_lang, filter_crs),
                                 datetime_clause(layer, datetime)) if c is not None]
            if parts:
                wheres[layer.id] = sa.and_(*parts)
        return wheres

    def tile(self, layers_text: str, z, x, y, *, filter_text: str | None = None,
             filter_lang: str | None = None, datetime: str | None = None,
             filter_crs: str | None = None, as_of: AsOf | None = None,
             tms: TileMatrixSet = WEB_MERCATOR_QUAD, version: int | None = None) -> VectorTile:
        """The tile of 'layer[,layer...]' at z/x/y of `tms` (raw path values, validated here).
        `version`: the data version the URL named (see tiles.url_version); the tile is then
        rendered only when it is the current one, else its `version` says the current one."""
        tile = parse_tile(z, x, y, tms=tms)
        layers = parse_layers(layers_text)
        if version is not None and as_of is None:
            return self._retried(lambda: self._render_versioned(
                layers, tile, version, self.conditions(layers, filter_text, filter_lang,
                                                       datetime, filter_crs),
                _key(layers, tile, filter_text, filter_lang, datetime, filter_crs)))
        return self.render(layers, tile, filter_text=filter_text, filter_lang=filter_lang,
                           datetime=datetime, filter_crs=filter_crs, as_of=as_of)

    def render(self, layers: list, tile: Tile, *, filter_text=None, filter_lang=None,
               datetime=None, filter_crs=None, as_of: AsOf | None = None) -> VectorTile:
        """The tile (cached, or rendered); with `as_of`, as the database was then."""
        wheres = self.conditions(layers, filter_text, filter_lang, datetime, filter_crs)
        shown = visible_layers(layers, tile.scale_zoom)
        key = _key(layers, tile, filter_text, filter_lang, datetime, filter_crs)
        if as_of is not None:
            key += ("as_of", as_of.text)
        if not shown:                      # outside every layer's zoom range: empty tile
            cached = self.cache.get_or_render(key, {}, lambda: b"")
            return VectorTile(b"", cached.etag, cached.hit)
        if as_of is not None:
            return self._retried(lambda: self._render_as_of(shown, tile, key, wheres, as_of))
        try:
            return self._render(shown, tile, key, wheres)
        except DatabaseUnavailable:
            # the pool is not pre-pinged (a round trip per tile): a connection that died
            # with a database restart fails once; drop every pooled connection (they died
            # together) and try again on a fresh one
            self.engine.dispose(close=False)
            return self._render(shown, tile, key, wheres)

    def _retried(self, render) -> VectorTile:
        """`render()`, once more on fresh connections after a lost database (see above)."""
        try:
            return render()
        except DatabaseUnavailable:
            self.engine.dispose(close=False)
            return render()

    def _render_as_of(self, shown, tile, key, wheres, as_of: AsOf) -> VectorTile:
        """A tile of the layers' versions at an instant, through SQLAlchemy (its statement
        is built per request). Cached under the instant: a settled one never changes, an
        unsettled one also follows the current data versions."""
        with db_errors(), self.engine.connect() as conn:
            versions = {} if as_of.settled() else table_versions(
                conn, [layer.table_name for layer in shown])
            cached = self.cache.get_or_render(
                key, versions, lambda: _gzip(render_mvt(conn, shown, tile, wheres, as_of.at)))
        return VectorTile(cached.data, cached.etag, cached.hit)

    def _render(self, shown, tile, key, wheres) -> VectorTile:
        with self._connection(wheres) as conn:
            return self._render_on(conn, shown, tile, key, wheres)

    def _render_versioned(self, layers, tile, version: int, wheres, key) -> VectorTile:
        """A tile asked for at a URL version: the versions of all the URL's layers and the
        tile on one connection; nothing rendered when the version is not the current one."""
        tables = [layer.table_name for layer in layers]
        with self._connection(wheres) as conn:
            versions = fast_versions(conn, tables)
            current = newest_version(versions.values())
            if current != version:
                return VectorTile(b"", "", False, version=current)
            shown = visible_layers(layers, tile.scale_zoom)
            kept = {layer.table_name: versions.get(layer.table_name, 0) for layer in shown}
            try:
                cached = self.cache.get_or_render(
                    key, kept, lambda: _consistent(conn, shown, tile, wheres, kept))
            except _Changed:                # an edit committed in between: not this version
                return VectorTile(b"", "", False, version=newest_version(
                    fast_versions(conn, tables).values()))
        return VectorTile(cached.data, cached.etag, cached.hit, version=current)

    def _connection(self, wheres):
        """A connection for tile SQL: SQLAlchemy's for statements built per request, the
        driver's (prepared statements) otherwise."""
        if wheres or not self.binary:
            return _sqlalchemy_connection(self.engine)
        return pooled(self.engine)

    def _render_on(self, conn, shown, tile, key, wheres) -> VectorTile:
        if not self.cache.enabled:         # one round trip: the tile and its versions
            raw, versions = render_mvt_versions(conn, shown, tile, wheres)
            return VectorTile(_gzip(raw), tile_etag(key, versions), False)
        versions = fast_versions(conn, [layer.table_name for layer in shown])
        cached = self.cache.get_or_render(
            key, versions, lambda: _gzip(render_mvt(conn, shown, tile, wheres)))
        return VectorTile(cached.data, cached.etag, cached.hit)


def _key(layers, tile: Tile, filter_text, filter_lang, datetime, filter_crs) -> tuple:
    """What a tile's cache key and ETag name besides its layers' data versions."""
    key = ("mvt", tile.tms.id, tuple(layer.id for layer in layers), tile.z, tile.x, tile.y,
           filter_text or "", filter_lang or "", datetime or "")
    return key + (filter_crs,) if filter_crs else key


@contextmanager
def _sqlalchemy_connection(engine):
    """An engine connection with the database's errors mapped to gisdb.errors."""
    with db_errors(), engine.connect() as conn:
        yield conn


class _Changed(Exception):
    """The data changed between reading a tile's versions and rendering it."""


def _consistent(conn, shown, tile: Tile, wheres, expected: dict) -> bytes:
    """The gzipped tile, rendered with its versions in the same statement: raises _Changed
    (so nothing is cached) when they are not `expected`, the versions its URL named."""
    if not shown:
        return b""
    raw, versions = render_mvt_versions(conn, shown, tile, wheres)
    if {name: int(versions.get(name, 0)) for name in expected} != expected:
        raise _Changed
    return _gzip(raw)


def fast_versions(conn, tables: list[str]) -> dict[str, int]:
    """`gisdb.versions.table_versions` on the driver connection, as a prepared statement
    (its compiled `VERSIONS_SQL`): this lookup runs before every cached tile, so it skips
    SQLAlchemy's per-execution work (see tiles.driver)."""
    driver = psycopg_connection(conn)
    if driver is None:
        return table_versions(conn, tables)
    with driver_errors(conn):
        rows = driver.execute(VERSIONS_SQL, (tables,), prepare=True).fetchall()
    return {name: int(version) for name, version in rows}


def _gzip(raw: bytes) -> bytes:
    """gzip at level 1 (a tile is compressed on every cache miss: speed over ratio). ISA-L's
    gzip is 4x faster than zlib's at the same ratio; the standard library if absent."""
    if not raw:
        return b""
    if igzip is not None:
        return igzip.compress(raw, GZIP_LEVEL, mtime=0)
    return gzip.compress(raw, GZIP_LEVEL, mtime=0)
