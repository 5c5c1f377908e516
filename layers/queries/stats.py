"""Statistics of a layer grouped by administrative unit (ward or district) valid on a
date: count, total area (m²) of polygons, total length (m) of lines, per unit.

Each feature belongs to the unit that contains its point on surface, so a parcel on a
ward boundary is counted once (units of one level do not overlap at a date) and the
groups add up to the total. Features outside
every unit form an "unassigned" group. Districts exist only before the 2025 reform
(valid to 2025-07-01); asking for them at a later date is a clear error."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.util import ClauseAdapter

from gisdb.engine import db_errors
from gisdb.errors import InvalidParameter
from layers.layer import Layer
from layers.registry import get_layer
from layers.time_travel import as_of_statement

from . import expressions as ex
from .filters import where_clauses
from .inputs import date

LEVELS = {"ward": ("ward", "commune"), "district": ("district",)}
SQUARE_DEG = 0.001          # ~110 m: the squares of the unit lookup (see `_grouped`)
SQUARES_FROM_ROWS = 20_000  # a smaller layer is matched point by point (no square lookup)
_PG_CLASS = sa.table("pg_class", sa.column("oid"), sa.column("reltuples"), schema="pg_catalog")
NO_FEATURES = SimpleNamespace(count=0, area_m2=0.0, length_m=0.0)


def _measure(layer: Layer, geom):
    """The per-feature measure summed by the statistics: area (m²) of polygons, length
    (m) of lines, nothing for points; planar on EPSG:5899, so that a whole layer of a
    million features answers within the statement timeout."""
    if ex.is_area(layer):
        return ex.planar_area_m2(geom).label("m")
    if ex.is_line(layer):
        return ex.planar_length_m(geom).label("m")
    return sa.literal(0.0).label("m")


def _sums(layer: Layer, rows) -> list:
    """count, and the sum of the measure named for the layer's geometry."""
    cols = [sa.func.count().label("count")]
    total = sa.cast(sa.func.coalesce(sa.func.sum(rows.c.m), 0), sa.Float)
    if ex.is_area(layer):
        cols.append(total.label("area_m2"))
    if ex.is_line(layer):
        cols.append(total.label("length_m"))
    return cols


def _of_level(units, by: str, at: dt.date) -> list:
    """Conditions keeping the units of level `by` valid on `at`."""
    return [units.c.level.in_(LEVELS[by]), *ex.valid_at(units, at)]


def _unit_squares(units, level_ok, layer: Layer) -> sa.CTE:
    """(i, j, code): the squares of a SQUARE_DEG grid (ST_SquareGrid's indexes) lying
    wholly inside one unit, found unit by unit (the unit's polygon stays the same from
    one test to the next, so PostGIS prepares it once). Materialized: computed once per
    query, whatever the planner guesses of the grid's size (it would otherwise rebuild
    it for every feature of a small filtered layer). Left empty for a layer of fewer than
    SQUARES_FROM_ROWS rows (the planner's estimate), whose points are cheaper to test
    one by one than the squares are to find."""
    rows = (sa.select(_PG_CLASS.c.reltuples)
            .where(_PG_CLASS.c.oid == sa.func.to_regclass(sa.literal(layer.table_name)))
            .scalar_subquery())
    grid = sa.func.ST_SquareGrid(SQUARE_DEG, units.c.geom).table_valued("geom", "i", "j").lateral("g")
    return (sa.select(grid.c.i, grid.c.j, units.c.code)
            .select_from(units.join(grid, sa.true()))
            .where(rows >= SQUARES_FROM_ROWS, *level_ok,
                   sa.func.ST_Contains(units.c.geom, sa.func.ST_Expand(grid.c.geom, 1e-9)))
            .cte("squares").prefix_with("MATERIALIZED"))


def _grouped(layer: Layer, units, level_ok: Callable[[sa.Table], list], f,
             feature_conditions) -> sa.Select:
    """(code, count, sum of the measure) per unit, code NULL for the features outside
    every unit. A feature belongs to the unit holding its point on surface. Grouping
    comes first: in one parallel scan, the square of each point is looked up among the
    squares wholly inside a unit (a hash join) and the features are summed per unit;
    only the few points in squares on a unit's edge stay apart, summed per point, and
    each such point is then tested against the units' polygons (the first unit by code,
    should it lie on a shared boundary). No spatial join of the whole layer."""
    point = sa.func.ST_PointOnSurface(f.c.geom)
    # OFFSET 0 keeps the subquery whole: each point and measure computed once per feature
    feats = (sa.select(point.label("p"), _measure(layer, f.c.geom)).where(*feature_conditions)
             .offset(0).subquery("f"))
    squares = _unit_squares(units, level_ok(units), layer)
    cell = [sa.cast(sa.func.floor(sa.func.ST_X(feats.c.p) / SQUARE_DEG), sa.Integer),
            sa.cast(sa.func.floor(sa.func.ST_Y(feats.c.p) / SQUARE_DEG), sa.Integer)]
    apart = [sa.case((squares.c.code.is_(None), sa.func.ST_X(feats.c.p))).label("x"),
             sa.case((squares.c.code.is_(None), sa.func.ST_Y(feats.c.p))).label("y")]
    first = (sa.select(squares.c.code, *apart, *_sums(layer, feats))
             .select_from(feats.outerjoin(squares, sa.and_(squares.c.i == cell[0], squares.c.j == cell[1])))
             .group_by(squares.c.code, *apart).subquery("first"))
    edge = units.alias("e")
    at_point = sa.func.ST_SetSRID(sa.func.ST_MakePoint(first.c.x, first.c.y), 4326)
    by_test = (sa.select(edge.c.code).where(*level_ok(edge), sa.func.ST_Intersects(edge.c.geom, at_point))
               .order_by(edge.c.code).limit(1).scalar_subquery())
    code = sa.func.coalesce(first.c.code, by_test)
    totals = [sa.func.sum(c).label(c.name) for c in first.c if c.name not in ("code", "x", "y")]
    return sa.select(code.label("code"), *totals).group_by(code)


def _units_valid(conn: Connection, units, levels: tuple[str, ...], at: dt.date, by: str,
                 as_of: dt.datetime | None = None) -> None:
    """Raise a clear error when no unit of this level is valid on `at`. As of an instant
    before the history starts there are no units at all: an empty answer, no error."""
    valid = sa.select(sa.func.count()).where(units.c.level.in_(levels), units.c.valid_from <= at,
                                             sa.or_(units.c.valid_to.is_(None), units.c.valid_to > at))
    if conn.execute(as_of_statement(valid, as_of)).scalar_one():
        return
    span = conn.execute(as_of_statement(
        sa.select(sa.func.min(units.c.valid_from), sa.func.max(units.c.valid_to))
        .where(units.c.level.in_(levels)), as_of)).one()
    if span[0] is None and as_of is not None:
        return
    if span[0] is None:
        raise InvalidParameter(f"there are no {by} units in the database")
    if span[1] is not None and at >= span[1]:
        raise InvalidParameter(
            f"no {by} is valid on {at.isoformat()}: {by}s were valid until {span[1].isoformat()} "
            f"(the 2025 reform); give at_date before {span[1].isoformat()}")
    raise InvalidParameter(f"no {by} is valid on {at.isoformat()} (valid from "
                           f"{span[0].isoformat()}); give another at_date")


def _round(row, layer: Layer) -> dict:
    out = {"count": int(row.count)}
    if ex.is_area(layer):
        out["area_m2"] = round(float(row.area_m2), 2)
    if ex.is_line(layer):
        out["length_m"] = round(float(row.length_m), 2)
    return out


def stats(conn: Connection, layer: Layer, by: str = "ward", *, filter_text: str | None = None,
          filter_lang: str = "cql2-text", equals: dict | None = None,
          at_date=None, filter_crs=None, as_of: dt.datetime | None = None) -> dict:
    """Per admin unit of level `by` ('ward' includes communes, or 'district') valid on
    `at_date` (today by default): code, name and the layer's count/area/length; plus the
    totals and the unassigned remainder; the database as it was at `as_of` when given."""
    if by not in LEVELS:
        raise InvalidParameter(f"by must be one of {', '.join(LEVELS)}, got {str(by)[:20]!r}")
    at = date(at_date)
    units = get_layer("admin_units").table.alias("u")
    f = layer.table.alias("f")
    conditions = where_clauses(layer, filter_text=filter_text, filter_lang=filter_lang,
                               equals=equals, filter_crs=filter_crs)
    # the filter is written against the layer's own table; rewrite it onto the alias
    conditions = [ClauseAdapter(f).traverse(c) for c in conditions]
    feature_conditions = [*conditions, *ex.valid_at(f, at)]
    grouped = _grouped(layer, units, lambda table: _of_level(table, by, at), f, feature_conditions)
    names = sa.select(units.c.code, units.c.name).where(*_of_level(units, by, at))
    with db_errors():
        _units_valid(conn, units, LEVELS[by], at, by, as_of)
        sums = {r.code: r for r in conn.execute(as_of_statement(grouped, as_of))}
        name_of = dict(conn.execute(as_of_statement(names, as_of)).all())
    unassigned = _round(sums.get(None, NO_FEATURES), layer)
    groups = [{"code": code, "name": name_of.get(code), **_round(sums[code], layer)}
              for code in sorted(c for c in sums if c is not None)]
    totals = {k: round(sum(g[k] for g in groups) + unassigned[k], 2) for k in unassigned}
    totals["count"] = int(totals["count"])
    return {"layer": layer.id, "by": by, "at_date": at.isoformat(), "units": groups,
            "unassigned": unassigned, "total": totals}

