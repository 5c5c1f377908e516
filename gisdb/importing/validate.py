"""Validation and repair, in SQL, from the staging table into a checked table.

One statement turns every staged row into the target's typed columns plus a geometry
ready for the layer (2D, valid, the layer's type, EPSG:4326), and lists per row why it
must be rejected (`_reasons`) and what was repaired (`_repairs`). A second statement adds
what needs the typed values (CHECK constraints, foreign keys, keys already in the layer
for `append`), a third flags keys repeated within the file (the first one wins)."""
from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql as pg

from ..model import STORAGE_SRID
from . import casts
from .crs import EXPECTED_REGION
from .mapping import ColumnPlan
from .set_expressions import condition
from .sources import INVALID, RING_CLOSED, UNREADABLE, ZM_DROPPED
from .target import ImportTarget

CHECKED_TABLE = "gisdb_import_checked"
TEXT_ARRAY = pg.ARRAY(sa.Text)
DIMENSION = {"POINT": 1, "LINESTRING": 2, "POLYGON": 3}

# Reasons (rejections) and repairs, with the words the report prints.
REASONS = {
    "geometry_missing": "no geometry",
    "geometry_unreadable": "geometry unreadable",
    "empty_geometry": "empty geometry",
    "invalid_geometry_rejected": "invalid geometry rejected",
    "wrong_geometry_type": "wrong geometry type",
    "outside_region": "outside the expected region",
    "missing_required": "missing required attribute",
    "value_does_not_fit": "value does not fit its column",
    "value_not_allowed": "value not allowed by the layer's rules",
    "unknown_reference": "refers to a feature that does not exist",
    "text_lost_letters": "text lost its Vietnamese letters to '?'",
    "duplicate_key": "duplicate natural key in the file",
    "already_in_layer": "natural key already in the layer (append)",
    "natural_key_taken": "natural key already used by another feature",
}
REPAIRS = {
    "invalid_geometry_repaired": "invalid geometry repaired",
    "zm_dropped": "Z/M dropped",
    "promoted_to_multi": "promoted to Multi",
    "single_from_multi": "single-part Multi made single",
    "ring_closed": "unclosed ring closed",
}


@dataclass(frozen=True)
class Policy:
    on_invalid: str = "fix"          # fix | reject | fail
    append: bool = False
    sql_validity: bool = False       # True: test validity with PostGIS instead of the reader's flag


def _base(target: ImportTarget) -> str:
    return target.geometry_type.removeprefix("MULTI")


def _field_text(stage: sa.Table, index: int):
    return sa.func.nullif(sa.func.btrim(sa.cast(stage.c[f"f{index}"], sa.Text)), "")


def _constant(value: str):
    return sa.func.nullif(sa.func.btrim(sa.literal(value, sa.Text)), "")


def _source_text(stage: sa.Table, plan: ColumnPlan):
    if plan.cases:
        text = sa.case(*[(condition(_field_text(stage, i), op, literal), _constant(value))
                         for i, op, literal, value in plan.cases], else_=_constant(plan.constant))
    elif plan.constant is not None:
        text = _constant(plan.constant)
    elif plan.virtual == "$fid":
        text = sa.cast(stage.c._row, sa.Text)
    elif plan.virtual == "$geom_hash":
        text = sa.func.md5(stage.c._wkb)
    else:
        parts = [_field_text(stage, i) for i in plan.fields]
        text = parts[0] if len(parts) == 1 else sa.func.coalesce(*parts)
    if plan.values:
        mapped = sa.cast(sa.literal(json.dumps(plan.values, ensure_ascii=False)), pg.JSONB).op("->>")(text)
        text = sa.func.coalesce(mapped, text)
    return text


def _column_rule(g, plan: ColumnPlan, col):
    """(source expression, fits(v), convert(v), is_text) for one target column."""
    if len(plan.fields) == 1 and not plan.values:
        source = g.c[f"f{plan.fields[0]}"]
        rule = casts.direct(source.type, col.type)
        if rule is not None:
            return source, rule[0], rule[1], False
    return (_source_text(g, plan), (lambda v: casts.typed(v, col.type)[0]),
            (lambda v: casts.typed(v, col.type)[1]), True)


def _flag(condition, code: str):
    return sa.case((condition, sa.literal(code)))


def checked_table(target: ImportTarget, names: list[str]) -> sa.Table:
    """The checked rows: their reasons and repairs, and the mapped columns only (the
    others are left to their defaults on insert and untouched on update)."""
    cols = [sa.Column(c.name, c.type) for c in target.columns if c.name in names]
    return sa.Table(CHECKED_TABLE, sa.MetaData(),
                    sa.Column("_row", sa.Integer, primary_key=True, autoincrement=False),
                    sa.Column("_reasons", TEXT_ARRAY),
                    sa.Column("_repairs", TEXT_ARRAY),
                    sa.Column("_invalid", sa.Boolean),
                    *cols,
                    sa.Column("geom", Geometry(srid=STORAGE_SRID, spatial_index=False)),
                    prefixes=["TEMPORARY"], postgresql_on_commit="DROP")


def _step(source, *exprs):
    """One derived table adding `exprs` to all columns of `source`. OFFSET 0 keeps the
    planner from inlining it, so each geometry function runs once per row."""
    return sa.select(*source.c, *exprs).offset(0).subquery()


def _geometry_chain(stage: sa.Table, target: ImportTarget, policy: Policy):
    """Derived tables from WKB (2D, EPSG:4326, Z/M already dropped on reading) to the
    layer's geometry: g, valid, empty, then fixed (repaired per policy), then final."""
    f = sa.func
    base = _base(target)
    a = _step(stage, f.ST_GeomFromWKB(stage.c._wkb, STORAGE_SRID).label("g"))
    valid = f.ST_IsValid(a.c.g) if policy.sql_validity else a.c._flag.op("&")(INVALID) == 0
    b = _step(a, valid.label("valid"), f.ST_IsEmpty(a.c.g).label("empty"))
    repaired = f.ST_CollectionExtract(f.ST_MakeValid(b.c.g), DIMENSION.get(base, 3))
    keep = sa.or_(b.c.valid, sa.literal(policy.on_invalid != "fix"))
    fixed = sa.case((keep, b.c.g), else_=repaired)
    return b, fixed


def _final_geometry(fixed, target: ImportTarget):
    f = sa.func
    base = _base(target)
    gtype = f.GeometryType(fixed)
    if target.geometry_type.startswith("MULTI"):
        return gtype, sa.case((gtype == base, f.ST_Multi(fixed)), else_=fixed)
    return gtype, sa.case((sa.and_(gtype == "MULTI" + base, f.ST_NumGeometries(fixed) == 1),
                           f.ST_GeometryN(fixed, 1)), else_=fixed)


def checked_select(stage, target: ImportTarget, plans: list[ColumnPlan], policy: Policy,
                   keep: tuple[str, ...] = ()) -> tuple[sa.Select, list[str]]:
    """The validation of `stage` (the staging table, or any selectable with its columns
    `_row, _flag, _wkb, f0...`) as one SELECT: `_row, _reasons, _repairs, _invalid`, the
    typed mapped columns, `geom`, then the `keep` columns of `stage` passed through.
    Returns it with the names of the typed columns. The rules that need the typed
    values are `row_rules`."""
    f = sa.func
    base = _base(target)
    planned = {p.column: p for p in plans}
    mapped = [c for c in target.columns if c.name in planned]
    g, fixed = _geometry_chain(stage, target, policy)
    # Each column's source value (with the fixed geometry), then whether it fits and
    # the layer's geometry: every expression computed once per row.
    rules = {c.name: _column_rule(g, planned[c.name], c) for c in mapped}
    t = _step(g, fixed.label("fixed"), *[rules[c.name][0].label("t_" + c.name) for c in mapped])
    fixed_type, final = _final_geometry(t.c.fixed, target)
    s = _step(t, fixed_type.label("fixed_type"), final.label("final"),
              *[rules[c.name][1](t.c["t_" + c.name]).label("ok_" + c.name) for c in mapped])
    region = f.ST_MakeEnvelope(*EXPECTED_REGION, STORAGE_SRID)
    missing = s.c._wkb.is_(None)
    invalid = sa.and_(sa.not_(missing), sa.not_(s.c.valid))
    fixed_ok = sa.and_(f.ST_IsValid(s.c.fixed), sa.not_(f.ST_IsEmpty(s.c.fixed)))
    final_type = f.GeometryType(s.c.final)
    reasons = [
        _flag(sa.and_(missing, s.c._flag.op("&")(UNREADABLE) != 0), "geometry_unreadable"),
        _flag(sa.and_(missing, s.c._flag.op("&")(UNREADABLE) == 0), "geometry_missing"),
        _flag(s.c.empty, "empty_geometry"),
        _flag(sa.and_(invalid, sa.not_(s.c.empty),
                      sa.or_(sa.literal(policy.on_invalid != "fix"), sa.not_(fixed_ok))),
              "invalid_geometry_rejected"),
        _flag(sa.and_(sa.not_(s.c.empty), final_type != target.geometry_type), "wrong_geometry_type"),
        # Only a geometry that survived repair can be out of place: a zero-length line
        # repaired to nothing is invalid, not elsewhere.
        _flag(sa.and_(sa.not_(s.c.empty), sa.not_(f.ST_IsEmpty(s.c.final)),
                      sa.not_(s.c.final.op("&&")(region))), "outside_region"),
    ]
    repairs = [
        _flag(s.c._flag.op("&")(RING_CLOSED) != 0, "ring_closed"),
        _flag(s.c._flag.op("&")(ZM_DROPPED) != 0, "zm_dropped"),
        _flag(sa.and_(invalid, sa.literal(policy.on_invalid == "fix"), fixed_ok), "invalid_geometry_repaired"),
        _flag(sa.and_(s.c.fixed_type == base, final_type == "MULTI" + base), "promoted_to_multi"),
        _flag(sa.and_(s.c.fixed_type == "MULTI" + base, final_type == base), "single_from_multi"),
    ]
    values = {}
    for col in target.columns:
        if col.name not in planned:
            continue            # mapping.resolve refused files that leave a required column empty
        text, fits = s.c["t_" + col.name], s.c["ok_" + col.name]
        values[col.name] = sa.case((fits, rules[col.name][2](text)))
        if col.default is not None:
            values[col.name] = sa.func.coalesce(values[col.name], col.default)
        if col.required:
            reasons.append(_flag(text.is_(None), "missing_required:" + col.name))
        reasons.append(_flag(sa.and_(text.isnot(None), sa.not_(fits)), "value_does_not_fit:" + col.name))
        if rules[col.name][3] and isinstance(col.type, (sa.Text, sa.String)):
            reasons.append(_flag(casts.lost_letters(text), "text_lost_letters:" + col.name))
    select = sa.select(s.c._row,
                       sa.cast(f.array_remove(pg.array(reasons, type_=sa.Text), None), TEXT_ARRAY).label("_reasons"),
                       sa.cast(f.array_remove(pg.array(repairs, type_=sa.Text), None), TEXT_ARRAY).label("_repairs"),
                       invalid.label("_invalid"), *[v.label(k) for k, v in values.items()],
                       sa.type_coerce(s.c.final, sa.types.NullType()).label("geom"),
                       *[s.c[k] for k in keep])
    return select, list(values)


def build_checked(conn: sa.Connection, stage: sa.Table, target: ImportTarget,
                  plans: list[ColumnPlan], policy: Policy) -> sa.Table:
    """Create and fill the checked table from the staging table. Returns it."""
    select, columns = checked_select(stage, target, plans, policy)
    checked = checked_table(target, columns)
    checked.create(conn)
    names = ["_row", "_reasons", "_repairs", "_invalid", *columns, "geom"]
    conn.execute(checked.insert().from_select(names, select))
    _row_rules(conn, checked, target, policy)
    _duplicates(conn, checked, target)
    return checked


def row_rules(checked, target: ImportTarget, policy: Policy) -> list[tuple[sa.ColumnElement, str]]:
    """(condition, reason) of the rules that need the typed values of `checked` (the
    checked table, or a subquery of `checked_select`): CHECK constraints, references,
    and for `append` keys already in the layer."""
    rules = []
    present = set(c.name for c in checked.columns)
    for name, expression, used in target.checks:
        if not used <= present:
            continue            # a rule on columns the file does not fill: the defaults hold
        passes = sa.func.coalesce(sa.type_coerce(expression, sa.Boolean), sa.true())
        rules.append((passes.is_(sa.false()), "value_not_allowed:" + name))
    for column, referenced in target.references:
        if column not in present:
            continue
        exists = sa.exists().where(referenced == checked.c[column])
        rules.append((sa.and_(checked.c[column].isnot(None), ~exists),
                      "unknown_reference:" + column))
    if policy.append and all(k in present for k in target.natural_key):
        table = target.table
        match = sa.and_(*[table.c[k] == checked.c[k] for k in target.natural_key])
        rules.append((sa.exists().where(match), "already_in_layer"))
    return rules


def _row_rules(conn: sa.Connection, checked: sa.Table, target: ImportTarget, policy: Policy) -> None:
    """Add the reasons of `row_rules` to the checked rows that have none yet."""
    rules = row_rules(checked, target, policy)
    if not rules:
        return
    flags = [sa.case((cond, sa.literal(code))) for cond, code in rules]
    conn.execute(checked.update()
                 .where(sa.func.cardinality(checked.c._reasons) == 0, sa.or_(*[c for c, _ in rules]))
                 .values(_reasons=checked.c._reasons.op("||")(
                     sa.cast(sa.func.array_remove(pg.array(flags, type_=sa.Text), None), TEXT_ARRAY))))


def _duplicates(conn: sa.Connection, checked: sa.Table, target: ImportTarget) -> None:
    present = set(c.name for c in checked.columns)
    if not target.natural_key or not all(k in present for k in target.natural_key):
        return
    keys = [checked.c[k] for k in target.natural_key]
    accepted = sa.func.cardinality(checked.c._reasons) == 0
    repeated = sa.select(sa.literal(1)).where(accepted).group_by(*keys).having(sa.func.count() > 1).limit(1)
    if conn.execute(repeated).first() is None:
        return                  # the usual case: one hash aggregate, no sort, no update
    number = sa.func.row_number().over(partition_by=[checked.c[k] for k in target.natural_key],
                                       order_by=checked.c._row).label("n")
    ranked = (sa.select(checked.c._row, number)
              .where(sa.func.cardinality(checked.c._reasons) == 0).subquery("ranked"))
    later = sa.select(ranked.c._row).where(ranked.c.n > 1)
    conn.execute(checked.update().where(checked.c._row.in_(later))
                 .values(_reasons=checked.c._reasons.op("||")(
                     sa.cast(pg.array([sa.literal("duplicate_key")], type_=sa.Text), TEXT_ARRAY))))


def count_outcome(conn: sa.Connection, checked: sa.Table) -> dict:
    """Rows read/rejected/repaired, and counts per reason and per repair (with detail)."""
    accepted = sa.func.cardinality(checked.c._reasons) == 0
    codes = list(REPAIRS)       # repairs carry no detail: counted in the same scan
    totals = conn.execute(sa.select(
        sa.func.count(),
        sa.func.count().filter(sa.func.cardinality(checked.c._reasons) > 0),
        sa.func.count().filter(sa.and_(accepted, sa.func.cardinality(checked.c._repairs) > 0)),
        sa.func.count().filter(checked.c._invalid),
        sa.func.min(checked.c._row).filter(checked.c._invalid),
        *[sa.func.count().filter(sa.and_(accepted, sa.literal(code, sa.Text) == sa.any_(checked.c._repairs)))
          for code in codes],
    )).one()
    # Reasons sit only on rejected rows: a clean file needs no unnest scan.
    reasons = _unnest_counts(conn, checked, checked.c._reasons, sa.true()) if totals[1] else {}
    repairs = {code: n for code, n in zip(codes, totals[5:]) if n}
    repairs = dict(sorted(repairs.items()))
    return {"read": totals[0], "rejected": totals[1], "repaired": totals[2],
            "invalid": totals[3], "first_invalid_row": totals[4],
            "reasons": reasons, "repairs": repairs}


def _unnest_counts(conn, checked, column, where) -> dict[str, int]:
    item = sa.func.unnest(column).table_valued("r").render_derived()
    rows = conn.execute(sa.select(item.c.r, sa.func.count()).select_from(checked).join(item, sa.true())
                        .where(where).group_by(item.c.r).order_by(item.c.r))
    return {r: n for r, n in rows}
