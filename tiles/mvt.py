"""Mapbox Vector Tiles built by PostGIS: the tile SQL of each layer (SQLAlchemy Core
around ST_AsMVT / ST_AsMVTGeom / ST_TileEnvelope) and composite tiles.

One statement renders every requested layer of a tile: each layer is a scalar subquery
returning its own ST_AsMVT bytes, and the tile is their concatenation (an MVT is a list
of layers, so concatenated layer messages are a valid tile). The spatial predicate is
always `geom_3857 && ST_TileEnvelope(z, x, y, bounds, margin)` on the indexed, stored
Web-Mercator column; tiles of WorldCRS84Quad read the indexed EPSG:4326 `geom` the same
way, their envelope being the square quadtree's (`TileMatrixSet.square_bounds`) at zoom
z + 1, where PostGIS 3's ST_AsMVTGeom works as well in degrees as in metres. z/x/y and the generalisation numbers are bind parameters, so the statement text
depends only on the layers and their generalisation mode and every tile of them reuses
one prepared plan (an index scan). Everything else (extent, buffer, layer names, the
world's bounds) is written into the text as a constant (`constant`): a constant is
folded once by the planner, while the same value as a parameter of a generic plan is
evaluated again for every row (measured: ~10% of a z16 tile's database time).
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from gisdb.versions import version_of, versions_object
from layers.overview_table import OverviewFeature, OverviewState
from layers.time_travel import travel

from .driver import fetch_one_binary
from .generalise import (
    BUFFER,
    CAPPED,
    CLUSTERED,
    DETAIL,
    EXTENT,
    GENERALISED,
    MARGIN,
    OVERVIEW,
    fields_at,
    in_zoom_range,
    is_point_layer,
    plan_for,
)
from .grid import WEB_MERCATOR_QUAD, Tile, TileMatrixSet

MEDIA_TYPE = "application/vnd.mapbox-vector-tile"

_Z = sa.bindparam("z", type_=sa.Integer)
_X = sa.bindparam("x", type_=sa.Integer)
_Y = sa.bindparam("y", type_=sa.Integer)
_TOLERANCE = sa.bindparam("tolerance", type_=sa.Float)
_MIN_SIZE = sa.bindparam("min_size", type_=sa.Float)
_CELL = sa.bindparam("cell", type_=sa.Float)
_CAP = sa.bindparam("cap", type_=sa.Integer)
_OVERVIEWS = OverviewFeature.__table__
_OVERVIEW_STATE = OverviewState.__table__


def constant(value, type_=sa.Integer) -> sa.ColumnElement:
    """A value written into the statement text as a PostgreSQL literal (see the module's
    note), never a parameter of the prepared statement."""
    literal = sa.literal(value, type_).compile(dialect=postgresql.dialect(),
                                               compile_kwargs={"literal_binds": True})
    return sa.literal_column(literal.string, type_)


def _square(tms: TileMatrixSet):
    """The square whose quadtree ST_TileEnvelope cuts `tms`'s tiles from, as a constant."""
    return func.ST_MakeEnvelope(*(constant(v, sa.Float) for v in tms.square_bounds),
                                constant(tms.srid))


def tile_envelope(tms: TileMatrixSet = WEB_MERCATOR_QUAD):
    """ST_TileEnvelope(z, x, y, bounds): the tile's square in the grid's CRS (`z` is bound
    to the quadtree's zoom, `Tile.z + zoom_offset`)."""
    return func.ST_TileEnvelope(_Z, _X, _Y, _square(tms))


def search_envelope(tms: TileMatrixSet = WEB_MERCATOR_QUAD):
    """The tile plus its MVT buffer: what the index is searched with."""
    return func.ST_TileEnvelope(_Z, _X, _Y, _square(tms), constant(MARGIN, sa.Float))


def attribute_value(column: sa.Column) -> sa.ColumnElement:
    """A column as an MVT value: numbers as numbers, dates and times as ISO text."""
    kind = column.type
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
        return sa.cast(column, sa.Float)
    if isinstance(kind, (sa.Date, sa.DateTime, sa.Time)):
        return sa.cast(column, sa.Text)
    return column


def attribute(column: sa.Column) -> sa.ColumnElement:
    return attribute_value(column).label(column.name)


def bbox_size(geom):
    """Longest side of a geometry's bounding box (metres): what a pixel test needs."""
    return func.greatest(func.ST_XMax(geom) - func.ST_XMin(geom),
                         func.ST_YMax(geom) - func.ST_YMin(geom))


def _mvt_geom(geom, tms: TileMatrixSet):
    """ST_AsMVTGeom against the tile's envelope, computed once per statement (a scalar
    subquery: an InitPlan), not once per row as a function of the prepared statement's
    parameters would be."""
    once = sa.select(tile_envelope(tms)).scalar_subquery()
    return func.ST_AsMVTGeom(geom, once, constant(EXTENT), constant(BUFFER),
                             sa.true()).label("geom")


def _once(expr) -> sa.ScalarSelect:
    """A value of the tile (not of a row), as a scalar subquery: an InitPlan, run once."""
    return sa.select(expr).scalar_subquery()


def _grid_geom(geom, drawn, tms: TileMatrixSet):
    """A generalised feature in tile coordinates. A feature whose bounding box lies within
    the tile and its buffer needs no clipping, so instead of ST_AsMVTGeom (a GEOS
    round trip per polygon, about two thirds of a dense z14 tile's time) it is mapped by
    one affine transform from the tile's envelope (its coefficients computed once per
    tile), snapped to whole units and its rings oriented as ST_AsMVTGeom orients them
    (same vertices, same order: checked on a dense z14 tile, 15,068 of 15,071 buildings
    identical, the other 3 one unit further into the buffer); the others, crossing the
    buffer, go through ST_AsMVTGeom. The features
    drawn this way are at least a pixel (16 units) across, so snapping does not collapse
    them; it may leave a polygon self-touching where ST_AsMVTGeom would have repaired it,
    which renderers draw the same. `drawn`: what is drawn of `geom` (simplified)."""
    env = tile_envelope(tms)
    width = func.ST_XMax(env) - func.ST_XMin(env)
    scale = _once(constant(EXTENT, sa.Float) / width)
    xoff = _once(-func.ST_XMin(env) * constant(EXTENT, sa.Float) / width)
    yoff = _once(func.ST_YMax(env) * constant(EXTENT, sa.Float) / width)
    zero = constant(0, sa.Float)
    grid = func.ST_SnapToGrid(func.ST_ForcePolygonCCW(
        func.ST_Affine(drawn, scale, zero, zero, -scale, xoff, yoff)), constant(1, sa.Float))
    inside = geom.op("@")(_once(search_envelope(tms)))
    once = _once(tile_envelope(tms))
    clipped = func.ST_AsMVTGeom(drawn, once, constant(EXTENT), constant(BUFFER), sa.true())
    return sa.case((inside, grid), else_=clipped).label("geom")


def features_select(layer, mode: str, where: sa.ColumnElement | None = None,
                    tms: TileMatrixSet = WEB_MERCATOR_QUAD) -> sa.Select:
    """The rows of one layer in one tile of `tms`: id, the registry's tile fields and the
    tile geometry, generalised according to `mode` (see tiles.generalise)."""
    table = layer.table
    geom = table.c[tms.geometry_column]
    search = search_envelope(tms)
    ident = table.c[layer.id_column]
    fields = [table.c[name] for name in fields_at(layer, mode)]
    if mode == CLUSTERED:
        count = func.count()
        one = constant(1)
        first = [sa.case((count == one, func.array_agg(attribute_value(c))[one])).label(c.name)
                 for c in fields]
        stmt = (sa.select(sa.case((count == one, func.min(ident))).label("id"),
                          count.label("point_count"),
                          sa.case((count > one, sa.true())).label("cluster"),
                          *first,
                          _mvt_geom(func.ST_Centroid(func.ST_Collect(geom)), tms))
                .where(geom.op("&&")(search))
                .group_by(func.ST_SnapToGrid(geom, _CELL)))
    elif mode == DETAIL:
        stmt = (sa.select(ident.label("id"), *[attribute(c) for c in fields], _mvt_geom(geom, tms))
                .where(geom.op("&&")(search)))
    elif mode in (GENERALISED, CAPPED):
        stmt = (sa.select(ident.label("id"), *[attribute(c) for c in fields],
                          _grid_geom(geom, func.ST_Simplify(geom, _TOLERANCE), tms))
                .where(geom.op("&&")(search))
                .where(bbox_size(geom) >= _MIN_SIZE))
        if mode == CAPPED:
            stmt = stmt.order_by(bbox_size(geom).desc()).limit(_CAP)
    elif mode == OVERVIEW:
        stored = _OVERVIEWS
        stmt = (sa.select(stored.c.id, stored.c.props, _grid_geom(stored.c.geom, stored.c.geom, tms))
                .where(stored.c.band == _Z, stored.c.layer == constant(layer.id, sa.Text),
                       stored.c.geom.op("&&")(search))
                .order_by(stored.c.size.desc()).limit(_CAP))
    else:
        raise ValueError(f"unknown generalisation mode {mode!r}")
    if where is not None:
        stmt = stmt.where(where)
    return stmt


def layer_mvt(layer, mode: str, where: sa.ColumnElement | None = None,
              tms: TileMatrixSet = WEB_MERCATOR_QUAD) -> sa.ColumnElement:
    """ST_AsMVT of one layer in one tile, as a scalar subquery (bytea). In OVERVIEW mode,
    the stored overviews when they were built from the layer's current data version, else
    the live rows capped (a CASE on two InitPlans: only the branch taken runs, and the
    versions compared are those of the tile's own snapshot)."""
    if mode == OVERVIEW:
        built = (sa.select(_OVERVIEW_STATE.c.version)
                 .where(_OVERVIEW_STATE.c.layer == constant(layer.id, sa.Text)).scalar_subquery())
        current = version_of(constant(layer.table_name, sa.Text))
        return sa.case((built == current, _layer_mvt(layer, OVERVIEW, where, tms)),
                       else_=_layer_mvt(layer, CAPPED, where, tms))
    return _layer_mvt(layer, mode, where, tms)


def _layer_mvt(layer, mode: str, where, tms: TileMatrixSet) -> sa.ScalarSelect:
    rows = features_select(layer, mode, where, tms).subquery("q")
    return (sa.select(func.ST_AsMVT(rows.table_valued(), constant(layer.id, sa.Text),
                                    constant(EXTENT), constant("geom", sa.Text),
                                    constant("id", sa.Text)))
            .select_from(rows).scalar_subquery())


_STATEMENTS: dict[tuple, sa.Select] = {}


def versions_column(layers) -> sa.ScalarSelect:
    """{'schema.table': version} of the layers, read in the tile's own statement (one
    round trip gives the tile and what its ETag needs)."""
    tables = sorted({layer.table_name for layer in layers})
    return versions_object(constant(tables, sa.ARRAY(sa.Text)))


def tile_statement(parts: list[tuple[object, str]],
                   wheres: Mapping[str, sa.ColumnElement] | None = None, *,
                   with_versions: bool = False,
                   tms: TileMatrixSet = WEB_MERCATOR_QUAD) -> sa.Select:
    """One SELECT with a bytea column per (layer, mode) (and first, optionally, the data
    versions of the layers) on the grid `tms`. Unfiltered statements are built once per
    process and reused, so SQLAlchemy's compiled SQL and psycopg's prepared statement are
    shared by every tile of the same grid, layers and modes."""
    # min_zoom: what `fields_at` reads besides the mode (a layer shown lower keeps its names)
    key = (tms.id, with_versions) + tuple((layer.id, layer.table_name, layer.min_zoom, mode)
                                          for layer, mode in parts)
    stmt = None if wheres else _STATEMENTS.get(key)
    if stmt is None:
        columns = [layer_mvt(layer, mode, (wheres or {}).get(layer.id), tms).label(f"l{i}")
                   for i, (layer, mode) in enumerate(parts)]
        if with_versions:
            columns.insert(0, versions_column([layer for layer, _ in parts]).label("versions"))
        stmt = sa.select(*columns)
        if not wheres and len(_STATEMENTS) < 1024:
            _STATEMENTS[key] = stmt
    return stmt


def in_degrees(layers, wheres: Mapping[str, sa.ColumnElement] | None) -> dict:
    """`wheres` plus the tile's box on the EPSG:4326 geometry, for reading version tables:
    they index `geom`, not its Mercator copy. A Mercator rectangle is a longitude/latitude
    rectangle, so the transformed box selects the same rows, through the index."""
    box = func.ST_Transform(search_envelope(), constant(4326))
    out = dict(wheres or {})
    for layer in layers:
        near = layer.table.c.geom.op("&&")(box)
        out[layer.id] = near if out.get(layer.id) is None else sa.and_(out[layer.id], near)
    return out


def visible_layers(layers: Iterable, z: int) -> list:
    """The layers the registry shows at (WebMercatorQuad) zoom z (others are left out of
    the tile; a tile gives its `scale_zoom`)."""
    return [layer for layer in layers if in_zoom_range(layer, z)]


def render_mvt(conn: Connection, layers: Iterable, tile: Tile,
               wheres: Mapping[str, sa.ColumnElement] | None = None,
               as_of: dt.datetime | None = None, budget: int | None = None,
               overviews: bool = True) -> bytes:
    """The uncompressed MVT of `layers` at `tile` (b"" when nothing is visible), of the
    database as it was at `as_of` when given; `budget`, `overviews`: see
    `generalise.plan_for`."""
    return render_mvt_versions(conn, layers, tile, wheres, with_versions=False, as_of=as_of,
                               budget=budget, overviews=overviews)[0]


def render_mvt_versions(conn: Connection, layers: Iterable, tile: Tile,
                        wheres: Mapping[str, sa.ColumnElement] | None = None, *,
                        with_versions: bool = True, as_of: dt.datetime | None = None,
                        budget: int | None = None, overviews: bool = True) -> tuple[bytes, dict[str, int]]:
    """The uncompressed MVT and the data versions of the visible layers, in one statement
    (with `as_of`: the layers' versions at that instant, built for the request)."""
    shown = visible_layers(layers, tile.scale_zoom)
    if not shown:
        return b"", {}
    shapes = sum(1 for layer in shown if not is_point_layer(layer))
    # overviews hold neither the filterable columns nor the past: live rows for those
    plans = [plan_for(layer, tile, shapes, budget,
                      overviews=overviews and as_of is None and (wheres or {}).get(layer.id) is None)
             for layer in shown]
    # ST_TileEnvelope's zoom in the grid's square quadtree: z + zoom_offset (tiles.grid)
    params = {"z": tile.scale_zoom, "x": tile.x, "y": tile.y,
              "tolerance": 0.0, "min_size": 0.0, "cell": 1.0, "cap": 0}
    for plan in plans:                       # one zoom: the same numbers for every layer
        params.update({k: v for k, v in plan.params().items() if v})
    parts = [(layer, plan.mode) for layer, plan in zip(shown, plans)]
    if as_of is None:
        stmt = tile_statement(parts, wheres, with_versions=with_versions, tms=tile.tms)
    else:                                    # version tables index `geom` (degrees)
        boxed = in_degrees(shown, wheres) if tile.tms is WEB_MERCATOR_QUAD else wheres
        stmt = travel(tile_statement(parts, boxed, with_versions=with_versions, tms=tile.tms),
                      as_of)
    if wheres or as_of is not None:          # built for this request: through SQLAlchemy
        row = conn.execute(stmt, params).one()
    else:                                    # built once per process: binary, prepared
        row = fetch_one_binary(conn, stmt, params)
    if with_versions:
        versions, parts = {k: int(v) for k, v in (row[0] or {}).items()}, row[1:]
    else:
        versions, parts = {}, row
    return b"".join(bytes(part) for part in parts if part), versions
