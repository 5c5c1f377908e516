"""Applying checked rows to the layer, inside the import's single transaction.

Modes: `append` inserts (rows whose key is already there were rejected in validation);
`upsert` inserts new keys and updates only rows whose values really differ
(attributes by value with `IS DISTINCT FROM`, geometries as a surveyor compares them:
`same_geometry`, within a tolerance in metres measured in a metric CRS), so importing
the same file twice, or the layer's own export in any format and CRS, writes nothing
and the layer's data version does not move; `replace` is upsert plus deleting features whose key is not
in the file, all in one transaction, so readers see the old layer until the commit and
then the new one, never a half-loaded or empty layer. Removing most of a layer needs
`force`. A big load into a small layer drops the secondary indexes (GiST, search GIN) and the
natural-key constraint
and builds them again after the insert (a sorted build is several times faster than
200,000 index insertions; the keys were already checked unique in validation)
and ANALYZEs the layer (the rules refreshed after the import plan with its new size);
that holds an exclusive lock until the commit, so readers wait rather than see less."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from psycopg import sql
from sqlalchemy import exc as sa_exc

from ..bulk import build_indexes, drop_secondary_indexes, worth_deferring
from ..errors import ImportFailed
from .target import ImportTarget

MATCH_TABLE = "gisdb_import_match"


class GeometryCheckFailed(ImportFailed):
    """The layer's validity CHECK refused a geometry the reader had found valid (two
    GEOS versions disagreeing on an edge case): the caller validates again in PostGIS."""
REPLACE_FORCE_SHARE = 0.5


@dataclass
class Changes:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    existing: int = 0
    bulk_index_rebuild: bool = False

    @property
    def written(self) -> int:
        """Features the apply step inserts, updates or deletes."""
        return self.inserted + self.updated + self.deleted

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _match_table() -> sa.Table:
    return sa.Table(MATCH_TABLE, sa.MetaData(),
                    sa.Column("_row", sa.Integer, primary_key=True, autoincrement=False),
                    sa.Column("_id", sa.BigInteger),
                    sa.Column("_changed", sa.Boolean),
                    prefixes=["TEMPORARY"], postgresql_on_commit="DROP")


def _id_column(target: ImportTarget) -> sa.Column:
    return list(target.table.primary_key.columns)[0]


def _shared_columns(checked: sa.Table, target: ImportTarget) -> list[str]:
    present = {c.name for c in checked.columns}
    return [c.name for c in target.columns if c.name in present]


def same_geometry(stored, incoming, tolerance_m: float, metric_srid: int):
    """True when two geometries are the same shape within `tolerance_m` metres: the
    bytes are equal, or (ring order and start, part order, rounding and datum-shift float
    noise aside) no vertex of either lies further than the tolerance from the other,
    measured in `metric_srid` (Hausdorff distance). A move of twice the tolerance is a change."""
    f = sa.func
    near = f.ST_HausdorffDistance(f.ST_Transform(stored, metric_srid),
                                  f.ST_Transform(incoming, metric_srid)) <= tolerance_m
    return sa.case((stored.op("=")(incoming), sa.true()), else_=near)


def plan_changes(conn: sa.Connection, checked: sa.Table, target: ImportTarget,
                 mode: str, tolerance_m: float = 0.0) -> tuple[sa.Table | None, Changes]:
    """Match accepted rows to existing features on the natural key, and count what the
    apply step would insert, update, leave alone and delete. The match table is None
    when the layer is empty (all accepted rows are inserts)."""
    table = target.table
    ident = _id_column(target)
    cols = _shared_columns(checked, target)
    geom = target.geometry_column
    accepted = sa.func.cardinality(checked.c._reasons) == 0
    existing = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    if not existing:
        # An empty layer (the first load): every accepted row is an insert, nothing to
        # match, update or delete; no match table is written (apply reads `checked`).
        inserted = conn.execute(
            sa.select(sa.func.count()).select_from(checked).where(accepted)).scalar_one()
        return None, Changes(inserted=inserted)
    match = _match_table()
    match.create(conn)
    on = sa.and_(*[table.c[k] == checked.c[k] for k in target.natural_key])
    distinct = sa.or_(
        sa.tuple_(*[table.c[c] for c in cols]).is_distinct_from(sa.tuple_(*[checked.c[c] for c in cols]))
        if cols else sa.false(),
        sa.not_(sa.func.coalesce(same_geometry(table.c[geom], checked.c.geom, tolerance_m,
                                               target.metric_srid), sa.false())))
    conn.execute(match.insert().from_select(
        ["_row", "_id", "_changed"],
        sa.select(checked.c._row, ident, distinct).select_from(checked.outerjoin(table, on)).where(accepted)))
    counts = conn.execute(sa.select(
        sa.func.count().filter(match.c._id.is_(None)),
        sa.func.count().filter(sa.and_(match.c._id.isnot(None), match.c._changed)),
        sa.func.count().filter(sa.and_(match.c._id.isnot(None), sa.not_(match.c._changed))))).one()
    changes = Changes(inserted=counts[0], updated=counts[1], unchanged=counts[2])
    changes.existing = existing
    if mode == "replace":
        kept = sa.exists().where(match.c._id == ident)
        changes.deleted = conn.execute(sa.select(sa.func.count()).select_from(table).where(~kept)).scalar_one()
    return match, changes


def written_extent(conn: sa.Connection, checked: sa.Table, match: sa.Table | None, target: ImportTarget,
                   mode: str) -> list[float] | None:
    """The box (EPSG:4326: west, south, east, north) around every geometry the apply step
    will write or remove: the new geometries of inserted and changed features, and the
    old ones of changed and deleted features. Asked before applying (the old geometries
    are still there), so that analyses after the import (the rules' violations) look at
    that area only. None when nothing will change."""
    table, ident, geom = target.table, _id_column(target), target.geometry_column
    accepted = sa.func.cardinality(checked.c._reasons) == 0
    if match is None:
        parts = [sa.select(checked.c.geom.label("g")).where(accepted)]
    else:
        joined = checked.join(match, match.c._row == checked.c._row)
        parts = [sa.select(checked.c.geom.label("g")).select_from(joined)
                 .where(sa.or_(match.c._id.is_(None), match.c._changed)),
                 sa.select(table.c[geom].label("g")).select_from(table.join(match, match.c._id == ident))
                 .where(match.c._changed)]
        if mode == "replace":
            parts.append(sa.select(table.c[geom].label("g"))
                         .where(~sa.exists().where(match.c._id == ident)))
    both = sa.union_all(*parts).subquery()
    box = sa.func.ST_Extent(both.c.g)
    row = conn.execute(sa.select(sa.func.ST_XMin(box), sa.func.ST_YMin(box),
                                 sa.func.ST_XMax(box), sa.func.ST_YMax(box))).one()
    return None if row[0] is None else [float(v) for v in row]


def check_replace(changes: Changes, force: bool, layer_id: str) -> str | None:
    """The refusal message when a replace would remove most of the layer without force."""
    if changes.existing and changes.deleted > REPLACE_FORCE_SHARE * changes.existing and not force:
        return (f"replace would remove {changes.deleted} of the {changes.existing} features of {layer_id}"
                f" ({100 * changes.deleted / changes.existing:.0f}%): pass --force if that is intended")
    return None


def _unique_constraints(conn: sa.Connection, target: ImportTarget) -> list[tuple[str, str]]:
    rows = conn.execute(sa.text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = CAST(:t AS regclass) AND contype = 'u'"), {"t": target.qualified_name})
    return [(name, definition) for name, definition in rows]


def _alter_constraint(conn: sa.Connection, target: ImportTarget, name: str, definition: str | None) -> None:
    """Drop (definition None) or add back a constraint, with the catalog's own definition."""
    raw = conn.connection.driver_connection
    table = sql.Identifier(target.table.schema, target.table.name)
    with raw.cursor() as cur:
        if definition is None:
            cur.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(table, sql.Identifier(name)))
        else:
            cur.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(table, sql.Identifier(name))
                        + sql.SQL(definition))


def _analyze(conn: sa.Connection, target: ImportTarget) -> None:
    raw = conn.connection.driver_connection
    conn.exec_driver_sql(sql.SQL("ANALYZE {}").format(
        sql.Identifier(target.table.schema, target.table.name)).as_string(raw))


def apply_changes(conn: sa.Connection, checked: sa.Table, match: sa.Table | None, target: ImportTarget,
                  mode: str, changes: Changes) -> Changes:
    """Write the planned changes. Statements with nothing to do are not run, so a no-op
    import does not bump the layer's data version."""
    table = target.table
    ident = _id_column(target)
    cols = _shared_columns(checked, target)
    geom = target.geometry_column
    try:
        if mode == "replace" and changes.deleted:
            kept = sa.exists().where(match.c._id == ident)
            conn.execute(table.delete().where(~kept))
        if changes.updated:
            values = {c: checked.c[c] for c in cols}
            values[geom] = checked.c.geom
            if "updated_at" in table.c:
                values["updated_at"] = sa.func.now()
            conn.execute(table.update()
                         .where(ident == match.c._id, match.c._changed, match.c._row == checked.c._row)
                         .values(values))
        if changes.inserted:
            rebuild, uniques = [], []
            if worth_deferring(changes.inserted, changes.existing - changes.deleted):
                rebuild = drop_secondary_indexes(conn, [target.qualified_name])
                uniques = _unique_constraints(conn, target)
                for name, _ in uniques:
                    _alter_constraint(conn, target, name, None)
                changes.bulk_index_rebuild = bool(rebuild or uniques)
            rows = sa.select(*[checked.c[c] for c in cols], checked.c.geom)
            if match is None:       # empty layer: every accepted row (in file order)
                rows = rows.where(sa.func.cardinality(checked.c._reasons) == 0)
            else:
                rows = (rows.select_from(checked.join(match, match.c._row == checked.c._row))
                        .where(match.c._id.is_(None)))      # checked rows are already in file order
            conn.execute(table.insert().from_select([*cols, geom], rows))
            build_indexes(conn, rebuild)
            for name, definition in uniques:
                _alter_constraint(conn, target, name, definition)
            if changes.bulk_index_rebuild:      # the layer's size changed severalfold: plans
                _analyze(conn, target)          # after the import (the rules) need its new statistics
    except sa_exc.IntegrityError as exc:
        detail = getattr(getattr(exc, "orig", None), "diag", None)
        message = getattr(detail, "message_primary", None) or str(exc.orig).splitlines()[0]
        if (getattr(detail, "constraint_name", None) or "").endswith("_geom_valid"):
            raise GeometryCheckFailed(f"the layer refused a geometry as invalid ({message})") from None
        raise ImportFailed(f"the layer refused the change ({message}); nothing was changed") from None
    return changes
