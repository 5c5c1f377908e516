"""The SQL of a write: one statement per layer and operation validates every feature
with the importer's rules (`gisdb.importing.validate`) and, only when none is refused,
writes them all with the version check and logs them in `meta.audit`, returning per
feature its reasons, repairs, new version and whether it existed. The features travel as one JSONB array (bound), so
a 1,000-feature transaction is one round trip, not 1,000."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from ..attribution import gucs_select
from ..importing.mapping import ColumnPlan
from ..importing.target import ImportTarget
from ..importing.validate import TEXT_ARRAY, Policy, checked_select, row_rules
from ..meta_tables import AuditEntry
from ..model import STORAGE_SRID
from .versions import row_version

BATCH = sa.bindparam("batch", type_=pg.JSONB)
AUDIT = AuditEntry.__table__
AUDIT_WRITER = (("actor", sa.Text), ("source", sa.Text), ("comment", sa.Text), ("request_id", sa.Text),
                ("import_id", sa.BigInteger), ("remote_addr", sa.Text))
# Validity is tested by PostGIS (there is no reader to flag it); invalid geometries are
# repaired as `gisdb import --on-invalid fix` does, or refused when repair cannot save them.
POLICY = Policy(on_invalid="fix", sql_validity=True)


def _attributed() -> sa.ColumnElement:
    """A condition that first sets the attribution GUCs from the writer's bound values
    (`a_actor`, ...): an InitPlan, evaluated before any row is read or written, so the
    database's triggers see who writes even in a single autocommit statement."""
    return sa.exists(gucs_select("a_").cte("g").select())


def _elements():
    return sa.func.jsonb_array_elements(BATCH).table_valued(sa.column("value", pg.JSONB)).alias("e")


def _id_column(target: ImportTarget) -> sa.Column:
    return list(target.table.primary_key.columns)[0]


def _geometry(item, srid: int, current=None):
    """The incoming WKB in EPSG:4326 (transformed by PostGIS, as `crs=` output is);
    the stored geometry when an update leaves it alone."""
    wkb = sa.func.decode(item["g"].astext, "hex")
    if srid != STORAGE_SRID:
        wkb = sa.func.ST_AsBinary(sa.func.ST_Transform(sa.func.ST_GeomFromWKB(wkb, srid), STORAGE_SRID))
    if current is None:
        return wkb
    return sa.case((item["k"].astext == "true", sa.func.ST_AsBinary(current)), else_=wkb)


def _source(target: ImportTarget, op: str, srid: int) -> sa.Subquery:
    """The features as the importer's staging rows (`_row, _flag, _wkb, f0...`, all
    text), plus `_id`, `_expected` and `_present` (the feature exists). An update merges its patch into the stored row:
    a property it does not name keeps its stored value."""
    e = _elements()
    item, props = e.c.value, e.c.value["p"]
    table, ident = target.table, _id_column(target)
    given_id = sa.cast(item["id"].astext, sa.BigInteger)
    current = None if op == "create" else table.alias("cur")
    merge = op == "update"
    fields = []
    for i, col in enumerate(target.columns):
        text = props[col.name].astext
        if merge:
            text = sa.case((props.has_key(col.name), text),
                           else_=sa.cast(current.c[col.name], sa.Text))
        fields.append(text.label(f"f{i}"))
    if op == "create":
        new_id = sa.func.nextval(sa.func.pg_get_serial_sequence(
            f"{table.schema}.{table.name}", ident.name))
    else:
        new_id = given_id
    geom = _geometry(item, srid, current.c[target.geometry_column] if merge else None)
    present = sa.true() if current is None else current.c[ident.name].isnot(None)
    select = sa.select(sa.cast(item["r"].astext, sa.Integer).label("_row"),
                       sa.cast(item["f"].astext, sa.SmallInteger).label("_flag"),
                       geom.label("_wkb"), *fields, new_id.label("_id"),
                       item["v"].astext.label("_expected"), present.label("_present"))
    if current is not None:
        select = select.select_from(e.outerjoin(current, current.c[ident.name] == given_id))
    return select.where(_attributed()).subquery("src")


def _checked(target: ImportTarget, op: str, srid: int) -> tuple[sa.CTE, list[str]]:
    """The validated features (a materialized CTE): the importer's checks and row rules,
    and the natural key not used by another feature (409)."""
    plans = [ColumnPlan(c.name, fields=(i,)) for i, c in enumerate(target.columns)]
    select, names = checked_select(_source(target, op, srid), target, plans, POLICY,
                                   keep=("_id", "_expected", "_present"))
    v = select.subquery("v")
    rules = row_rules(v, target, Policy())
    if target.natural_key:
        table = target.table
        taken = sa.exists().where(*[table.c[k] == v.c[k] for k in target.natural_key],
                                  _id_column(target).is_distinct_from(v.c._id))
        rules.append((taken, "natural_key_taken"))
    flags = [sa.case((cond, sa.literal(code))) for cond, code in rules]
    reasons = v.c._reasons
    if flags:
        reasons = reasons.op("||")(sa.cast(sa.func.array_remove(pg.array(flags, type_=sa.Text), None),
                                           TEXT_ARRAY))
    checked = sa.select(v.c._row, v.c._id, v.c._expected, v.c._present, sa.type_coerce(reasons, TEXT_ARRAY).label("_reasons"),
                        v.c._repairs, *[v.c[n] for n in names], v.c.geom)
    return checked.cte("c").prefix_with("MATERIALIZED"), names


def _none_refused(c: sa.CTE):
    """No feature of the batch was refused (over the whole CTE: never correlated)."""
    refused = sa.select(sa.literal(1)).select_from(c).where(sa.func.cardinality(c.c._reasons) > 0)
    return ~refused.correlate(None).exists()


def _version_ok(table: sa.Table, expected) -> sa.ColumnElement:
    return sa.or_(expected == "*", row_version(table) == expected)


def _written(target: ImportTarget, op: str, c: sa.CTE, names: list[str]) -> sa.CTE:
    table, ident = target.table, _id_column(target)
    if op == "create":
        rows = sa.select(c.c._id, *[c.c[n] for n in names], c.c.geom).where(_none_refused(c))
        dml = table.insert().from_select([ident.name, *names, target.geometry_column], rows)
    else:
        values = {n: c.c[n] for n in names}
        values[target.geometry_column] = c.c.geom
        if "updated_at" in table.c:
            values["updated_at"] = sa.func.now()
        dml = (table.update().values(values)
               .where(ident == c.c._id, _version_ok(table, c.c._expected), _none_refused(c)))
    return dml.returning(ident.label("id"), row_version(table).label("version")).cte("w")


def _audited(select: sa.Select, w: sa.CTE, target: ImportTarget, op: str) -> sa.Select:
    """`select` that also logs the written features in `meta.audit` (one row, none when
    nothing was written), in the same statement; who writes comes as bound values."""
    values = [sa.bindparam("a_" + n, type_=t) for n, t in AUDIT_WRITER]
    rows = (sa.select(*values, sa.literal(op), sa.literal(target.layer_id),
                      sa.func.array_agg(w.c.id), sa.func.count())
            .select_from(w).having(sa.func.count() > 0))
    names = [n for n, _ in AUDIT_WRITER] + ["action", "layer", "feature_ids", "n_features"]
    return select.add_cte(AUDIT.insert().from_select(names, rows).cte("a"))


def save_statement(target: ImportTarget, op: str, srid: int) -> sa.Select:
    """create | replace | update of the features bound as `batch`: per feature `_row,
    _id, _reasons, _repairs, version` (NULL: not written) and `present` (it existed)."""
    c, names = _checked(target, op, srid)
    w = _written(target, op, c, names)
    return _audited(sa.select(c.c._row, c.c._id, c.c._reasons, c.c._repairs, w.c.version,
                      c.c._present.label("present"))
            .select_from(c.outerjoin(w, w.c.id == c.c._id)).order_by(c.c._row), w, target, op)


def delete_statement(target: ImportTarget) -> sa.Select:
    """Delete the features bound as `batch` whose version is the expected one; per
    feature `_row, _id, deleted, present`."""
    table, ident = target.table, _id_column(target)
    inner = _elements()
    w = (table.delete()
         .where(ident == sa.cast(inner.c.value["id"].astext, sa.BigInteger),
                _version_ok(table, inner.c.value["v"].astext), _attributed())
         .returning(ident.label("id")).cte("w"))
    e = _elements()
    given = sa.cast(e.c.value["id"].astext, sa.BigInteger)
    current = table.alias("cur")
    return _audited(sa.select(sa.cast(e.c.value["r"].astext, sa.Integer).label("_row"), given.label("_id"),
                              w.c.id.isnot(None).label("deleted"),
                              current.c[ident.name].isnot(None).label("present"))
                    .select_from(e.outerjoin(current, current.c[ident.name] == given)
                                 .outerjoin(w, w.c.id == given))
                    .order_by(sa.text("1")), w, target, "delete")


@dataclass(frozen=True)
class Compiled:
    """A write statement as the driver runs it: its SQL and its constant values (the
    features and the writer are added per call)."""

    sql: str
    constants: dict


_BUILT: dict[tuple, Compiled] = {}


def statement_for(target: ImportTarget, op: str, srid: int, dialect) -> Compiled:
    """The statement of `op` on `target` with geometries in `srid`, built and compiled
    once per process (that costs more than running it, and SQLAlchemy's own cache still
    walks the statement on every call)."""
    key = (target.qualified_name, op, srid, dialect.name)
    if key not in _BUILT:
        stmt = delete_statement(target) if op == "delete" else save_statement(target, op, srid)
        compiled = stmt.compile(dialect=dialect)
        constants = {k: v for k, v in compiled.params.items()
                     if k != "batch" and not k.startswith("a_")}
        _BUILT[key] = Compiled(str(compiled), constants)
    return _BUILT[key]
