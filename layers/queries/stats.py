"""Statistics of a layer grouped by administrative unit (ward or district) valid on a
date: count, total area (m²) of polygons, total length (m) of lines, per unit.

Each feature belongs to the unit that contains its point on surface, so a parcel on a
ward boundary is counted once (units of one level do not overlap at a date) and the
groups add up to the total. Features outside
every unit form an "unassigned" group. Districts exist only before the 2025 reform
(valid to 2025-07-01); asking for them at a later date is a clear error."""
from __future__ import annotations

import datetime as dt

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
    # Units drive the join (a handful of rows; each unit's polygon is prepared once and
    # the features found through their GiST index); features outside every unit are
    # found by one test against the units' union. Each measure is computed once.
    level_ok = [units.c.level.in_(LEVELS[by]), *ex.valid_at(units, at)]
    # narrow rows (unit, measure) before grouping, so that geometries are never sorted
    # (OFFSET 0 keeps the planner from merging the subquery and sorting wide rows)
    joined = (sa.select(units.c.code, units.c.name, _measure(layer, f.c.geom))
              .select_from(units.join(f, sa.and_(
                  f.c.geom.op("&&")(units.c.geom),
                  sa.func.ST_Intersects(units.c.geom, sa.func.ST_PointOnSurface(f.c.geom)))))
              .where(*level_ok, *feature_conditions).offset(0)).subquery()
    grouped = (sa.select(joined.c.code, joined.c.name, *_sums(layer, joined))
               .group_by(joined.c.code, joined.c.name).order_by(joined.c.code))
    union = sa.select(sa.func.ST_Union(units.c.geom)).where(*level_ok).scalar_subquery()
    outside = (sa.select(_measure(layer, f.c.geom))
               .where(*feature_conditions,
                      sa.not_(sa.func.ST_Intersects(union, sa.func.ST_PointOnSurface(f.c.geom))))
               ).subquery()
    outside = sa.select(*_sums(layer, outside))
    with db_errors():
        _units_valid(conn, units, LEVELS[by], at, by, as_of)
        rows = conn.execute(as_of_statement(grouped, as_of)).all()
        unassigned = _round(conn.execute(as_of_statement(outside, as_of)).one(), layer)
    groups = [{"code": r.code, "name": r.name, **_round(r, layer)} for r in rows]
    totals = {k: round(sum(g[k] for g in groups) + unassigned[k], 2) for k in unassigned}
    totals["count"] = int(totals["count"])
    return {"layer": layer.id, "by": by, "at_date": at.isoformat(), "units": groups,
            "unassigned": unassigned, "total": totals}

