"""Mapnik's `postgis` datasource for the PNG tiles: connection parameters derived from
the engine, one subquery per layer (and one per label layer) compiled from the layer
registry with SQLAlchemy, and the mapping of the plugin's errors onto the system's.

Why the plugin: it reads WKB straight from libpq into Mapnik's renderer, with no text
format in between; measured in `bench/png_tiles.py` it renders 1.5 to 3 times faster
than aggregating GeoJSON in PostGIS and parsing it with Mapnik's `geojson` datasource.

What the plugin lacks, and how it is supplied:
- a statement timeout: libpq's `options` (`-c statement_timeout=...`, plus no parallel
  workers and no JIT, like the vector tiles' engine, and read-only sessions, like every
  web connection) travel in the connection string; the user is the engine's (the web's
  read role, `gisdb.roles`). The
  plugin has no `options` parameter, but it appends `dbname` to the connection string
  as given, so the options are passed after the database name. A test checks that a
  locked table gives a 503 after the timeout; were Mapnik ever to quote the value, the
  connection would fail at once (503), never hang.
- errors: the plugin raises RuntimeError with libpq's message; `mapnik_errors()` turns a
  cancelled statement into QueryTimeout and a lost connection into DatabaseUnavailable.
- values are not bound: the subqueries hold only registry names, constants and Mapnik's
  own tokens (`!bbox!`, `!pixel_width!`), compiled by SQLAlchemy; no request text.

Each subquery selects the features meeting `!bbox!` (the tile plus Mapnik's buffer,
on the GiST index of the grid's column: `geom_3857`, or `geom` for WorldCRS84Quad); features that cross the box (long roads, wards, zones) are clipped
to it and simplified to a quarter pixel (`tiles.generalise`'s tolerance), the others are
sent as stored. (Dropping sub-pixel features, as the vector tiles do at low zoom, cost
more in SQL than it saved in drawing: measured with `bench/png_tiles.py`.) Labels of polygons
sit on `ST_PointOnSurface` of the whole feature, so every tile puts them in one place.
Layers with validity dates (administrative units) show their current features only, or
those valid at the request's `datetime` (by `layers.filter_rules`, as in the vector tiles).
"""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine

from gisdb.errors import ConfigurationError, DatabaseUnavailable, QueryTimeout, ServerBusy
from gisdb.temporal import AsOf, TimeRange
from layers.filter_rules import datetime_clause
from layers.layer import Layer
from layers.themes import Theme
from layers.time_travel import travel

from .generalise import SIMPLIFY_PX
from .grid import WEB_MERCATOR_QUAD, TileMatrixSet
from .mapnik_style import geometry_rank

SAFE_DBNAME = re.compile(r"^[A-Za-z0-9_.-]+$")
POOL_GENERATION = re.compile(r"gisdb\.pool=(\d+)")
TIMEOUT_MESSAGES = ("statement timeout", "canceling statement")
UNAVAILABLE_MESSAGES = ("could not connect", "connection refused", "server closed the connection",
                        "no connection to the server", "terminating connection",
                        "the database system is", "connection to server", "Connection string",
                        "Null connection")
READ_ONLY = " -c default_transaction_read_only=on"    # like every web session


@dataclass(frozen=True)
class PgSource:
    """Where and how the plugin connects (one libpq pool per distinct value)."""

    params: tuple[tuple[str, str], ...]

    @classmethod
    def from_engine(cls, engine: Engine, timeout_ms: int, pool_size: int = 4) -> "PgSource":
        url = engine.url
        if not url.database or not SAFE_DBNAME.match(url.database):
            raise ConfigurationError("PNG tiles need a plain database name (letters, digits, _ . -)")
        host = url.query.get("host") or url.host or ""
        if isinstance(host, tuple):
            host = host[0]
        port = url.query.get("port") or url.port or 5432
        if isinstance(port, tuple):
            port = port[0]
        options = ("-c statement_timeout=" + str(int(timeout_ms))
                   + " -c max_parallel_workers_per_gather=0 -c jit=off -c gisdb.pool=0")
        params = {"host": str(host), "port": str(int(port)), "user": url.username or "",
                  "dbname": url.database + " options='" + options + READ_ONLY + "'",
                  "connect_timeout": "5", "persist_connection": "true",
                  "max_size": str(int(pool_size)), "initial_size": "1"}
        if url.password:
            params["password"] = url.password
        return cls(tuple(sorted(params.items())))

    def renewed(self) -> "PgSource":
        """The same source with a new pool: the plugin keeps one pool per connection
        string and notices a dead connection only by failing a render on it, so after
        a database restart every pooled connection would fail once. A new generation
        number (`-c gisdb.pool=N`, a harmless custom setting) makes a new string."""
        params = dict(self.params)
        params["dbname"] = POOL_GENERATION.sub(
            lambda m: f"gisdb.pool={int(m.group(1)) + 1}", params["dbname"])
        return PgSource(tuple(sorted(params.items())))

    @property
    def pool_size(self) -> int:
        return int(dict(self.params)["max_size"])

    def datasource_params(self, table: str, tms: TileMatrixSet = WEB_MERCATOR_QUAD) -> dict:
        """The plugin's parameters for a subquery of `feature_table` / `label_table` drawn
        on the grid `tms` (its geometry column, SRID and world extent)."""
        return {**dict(self.params), "type": "postgis", "table": table,
                "geometry_field": tms.geometry_column, "srid": str(tms.srid),
                "extent": ",".join(repr(float(v)) for v in tms.bounds),
                "estimate_extent": "false", "extent_from_subquery": "false"}


@lru_cache(maxsize=16)
def _slots(source: PgSource) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(source.pool_size)


@contextmanager
def connection_slot(source: PgSource, wait_s: float = 10.0) -> Iterator[None]:
    """Hold one of the source's pooled connections for a render. The plugin's pool does
    not wait when all its connections are out (it fails with "Null connection"), so
    renders queue here instead; a queue longer than `wait_s` is a 503."""
    slots = _slots(source)
    if not slots.acquire(timeout=wait_s):
        raise ServerBusy("every database connection for PNG tiles is busy; try again")
    try:
        yield
    finally:
        slots.release()


@contextmanager
def mapnik_errors() -> Iterator[None]:
    """Re-raise the plugin's RuntimeErrors as QueryTimeout / DatabaseUnavailable."""
    try:
        yield
    except RuntimeError as exc:
        text = str(exc)
        if any(m in text for m in TIMEOUT_MESSAGES):
            raise QueryTimeout("the tile query took longer than the statement timeout") from exc
        if "Postgis Plugin" in text and any(m.lower() in text.lower() for m in UNAVAILABLE_MESSAGES):
            raise DatabaseUnavailable("the database is not reachable") from exc
        raise


# --- subqueries ------------------------------------------------------------------------------

BBOX = sa.literal_column("!bbox!")
PIXEL = sa.literal_column("!pixel_width!")


def _in_time(layer: Layer, span: TimeRange | None):
    """The request's `datetime` on the layer's time field (a validity interval: the units
    valid then), by the feature API's rules; without it, the features valid today."""
    if span is None:
        return _current_only(layer)
    clause = datetime_clause(layer, span)
    return sa.true() if clause is None else clause


def _current_only(layer: Layer):
    """Validity filter: only features valid today (layers with a `valid_to` column)."""
    columns = layer.table.c
    if "valid_to" not in columns:
        return sa.true()
    return sa.or_(columns.valid_to.is_(None), columns.valid_to > sa.func.current_date())


def _as_wkb(expr):
    """The geometry as Mapnik expects it (no GeoAlchemy ST_AsEWKB wrapper)."""
    return sa.type_coerce(expr, sa.LargeBinary)


def _drawn(layer: Layer, column: str):
    geom = layer.table.c[column]
    if geometry_rank(layer) == 2:
        return geom
    clipped = sa.func.ST_Simplify(sa.func.ST_ClipByBox2D(geom, BBOX), PIXEL * SIMPLIFY_PX)
    return sa.case((geom.op("@")(BBOX), geom), else_=clipped)


def _category(layer: Layer, theme: Theme | None):
    """A feature's colour class: the theme's, else the registry style's category."""
    if theme is not None:
        return theme.category(layer)
    name = layer.style.category_field
    return sa.cast(layer.table.c[name], sa.Text) if name else sa.null()


def _only(layer: Layer, ids: tuple[int, ...] | None):
    """The features a filtered tile draws (ids read from the database), or all."""
    if ids is None:
        return sa.true()
    return layer.table.c[layer.id_column] == sa.func.any(
        sa.literal(list(ids), postgresql.ARRAY(sa.BigInteger)))


def _compile(stmt: sa.Select, layer: Layer, as_of: AsOf | None = None) -> str:
    """The plugin's subquery text; with `as_of`, of the layers' versions at that instant
    (written as a constant: the normalised RFC 3339 text of a parsed instant), drawn in
    the order of their ids (a version table's rows lie in the order they were closed)."""
    if as_of is not None:      # version tables index `geom` (see tiles.mvt.in_degrees)
        near = layer.table.c.geom.op("&&")(sa.func.ST_Transform(BBOX, 4326))
        stmt = travel(stmt.where(near).order_by(layer.table.c[layer.id_column]),
                      sa.cast(sa.literal(as_of.text), postgresql.TIMESTAMP(timezone=True)))
    sql = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    return "(" + str(sql) + ") AS features"


def feature_table(layer: Layer, theme: Theme | None = None, column: str = "geom_3857", *,
                  as_of: AsOf | None = None, span: TimeRange | None = None,
                  ids: tuple[int, ...] | None = None) -> str:
    """The plugin `table` drawing `layer` from its geometry `column` (the grid's): columns
    `column` and c (category, or the theme's class); as of an instant and at the data's
    time `span` when given; only the features `ids` when given (a filtered tile)."""
    geom = layer.table.c[column]
    stmt = (sa.select(_as_wkb(_drawn(layer, column)).label(column), _category(layer, theme).label("c"))
            .where(geom.op("&&")(BBOX), _in_time(layer, span), _only(layer, ids)))
    return _compile(stmt, layer, as_of)


def label_table(layer: Layer, theme: Theme | None = None, column: str = "geom_3857", *,
                as_of: AsOf | None = None, span: TimeRange | None = None,
                ids: tuple[int, ...] | None = None) -> str:
    """The plugin `table` of `layer`'s labels: `column`, c and l (the label text)."""
    geom = layer.table.c[column]
    rank = geometry_rank(layer)
    anchor = sa.func.ST_PointOnSurface(geom) if rank == 0 else _drawn(layer, column)
    label = sa.cast(layer.table.c[layer.label_field], sa.Text)
    stmt = (sa.select(_as_wkb(anchor).label(column), _category(layer, theme).label("c"),
                      label.label("l"))
            .where(geom.op("&&")(BBOX), layer.table.c[layer.label_field].isnot(None),
                   label != "", _in_time(layer, span), _worth_a_label(layer), _only(layer, ids)))
    return _compile(stmt, layer, as_of)


def _worth_a_label(layer: Layer):
    """The unit that is the whole map (the city itself) gets no label: its name on one
    point of its surface, somewhere in the hills, only crowds the wards' names."""
    columns = layer.table.c
    if "level" not in columns:
        return sa.true()
    return columns.level != "city"
