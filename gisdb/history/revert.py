"""Undoing changes with the history: a feature back to an instant, or an import undone.

Both restore features to their state at an instant, set-based, in the caller's
transaction: rows that did not exist then are deleted, rows that did are written back
(updated, or inserted again with their id). The revert is itself a change, attributed
like any other (source `cli`, a comment saying what it reverts), so it can be reverted.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from gisdb.attribution import attribute
from gisdb.errors import NotFound, RevertConflict

from .as_of import versions_as_of
from .columns import key_column, writable_columns
from .tables import CHANGES, history_table

JUST_BEFORE = dt.timedelta(microseconds=1)     # timestamptz resolution
LISTED_CONFLICTS = 50


def _among(column: sa.ColumnElement, ids: list[int]) -> sa.ColumnElement:
    """`column = ANY(:ids)`: one array parameter, however many ids."""
    return column == sa.any_(sa.bindparam(None, ids, type_=ARRAY(sa.BigInteger)))


@dataclass
class Restored:
    """What a revert did, per layer id: rows deleted, updated, inserted again."""

    deleted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    inserted: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The counts, for JSON output."""
        return {"deleted": self.deleted, "updated": self.updated, "inserted": self.inserted}


def restore(conn: Connection, table: sa.Table, layer_id: str, ids: list[int], at: dt.datetime,
            done: Restored) -> None:
    """Put the features `ids` of `table` back as they were at `at` (three statements)."""
    key = key_column(table)
    then = versions_as_of(table, at)
    wanted = sa.select(then).where(_among(then.c[key.name], ids)).subquery("wanted")
    cols = [c.name for c in writable_columns(table)]
    existed = sa.exists().where(wanted.c[key.name] == key)
    data = [c for c in cols if c != key.name]
    changed = sa.or_(*[table.c[c].is_distinct_from(wanted.c[c]) for c in data])
    present = sa.exists().where(key == wanted.c[key.name])
    statements = {
        "deleted": table.delete().where(_among(key, ids), ~existed),
        "updated": table.update().where(key == wanted.c[key.name], changed).values({c: wanted.c[c] for c in data}),
        "inserted": table.insert().from_select(cols, sa.select(*[wanted.c[c] for c in cols]).where(~present)),
    }
    for what, statement in statements.items():
        count = len(conn.execute(statement.returning(key)).all())
        counts = getattr(done, what)
        counts[layer_id] = counts.get(layer_id, 0) + count


def revert_feature(conn: Connection, table: sa.Table, layer_id: str, fid: int, at: dt.datetime, *,
                   actor: str) -> Restored:
    """Feature `fid` back to its state at `at` (deleted if it did not exist then)."""
    hist = history_table(table)
    known = conn.execute(sa.select(sa.func.count()).select_from(hist)
                         .where(hist.c[key_column(table).name] == fid)).scalar()
    if not known:
        raise NotFound(f"no feature with id {fid} ever existed in {layer_id}")
    attribute(conn, actor=actor, source="cli", comment=f"revert {layer_id} {fid} to {at.isoformat()}")
    done = Restored()
    restore(conn, table, layer_id, [fid], at, done)
    return done


def import_changes(conn: Connection, import_id: int) -> tuple[dt.datetime, dict[str, list[int]]]:
    """When import `import_id` wrote, and the feature ids it changed per layer id."""
    rows = conn.execute(sa.select(CHANGES.c.layer, CHANGES.c.feature_id, CHANGES.c.at)
                        .where(CHANGES.c.import_id == import_id)).all()
    if not rows:
        raise NotFound(f"import {import_id} changed no feature (or is not in the history)")
    touched: dict[str, set[int]] = {}
    for layer, feature_id, _ in rows:
        touched.setdefault(layer, set()).add(int(feature_id))
    return min(r.at for r in rows), {layer: sorted(ids) for layer, ids in touched.items()}


def later_changes(conn: Connection, table: sa.Table, ids: list[int], at: dt.datetime) -> list[int]:
    """The features among `ids` with a version that began or ended after `at`."""
    hist = history_table(table)
    key = hist.c[key_column(table).name]
    return list(conn.execute(sa.select(key).distinct().where(
        _among(key, ids), sa.or_(hist.c.hist_from > at, hist.c.hist_to > at)).order_by(key)).scalars())


def revert_import(conn: Connection, import_id: int, tables: dict[str, sa.Table], *, actor: str) -> Restored:
    """Undo import `import_id`: its features back as they were just before it. Refused
    (RevertConflict, naming them) when a later change touched any of them."""
    at, touched = import_changes(conn, import_id)
    conflicts = [(layer, fid) for layer, ids in touched.items()
                 for fid in later_changes(conn, tables[layer], ids, at)]
    if conflicts:
        shown = ", ".join(f"{layer} {fid}" for layer, fid in conflicts[:LISTED_CONFLICTS])
        more = f" and {len(conflicts) - LISTED_CONFLICTS} more" if len(conflicts) > LISTED_CONFLICTS else ""
        raise RevertConflict(f"import {import_id} cannot be reverted: {len(conflicts)} of its features "
                             f"changed after it ({shown}{more}); revert those first or one by one "
                             f"with `gisdb revert LAYER ID --to TIME`", conflicts)
    attribute(conn, actor=actor, source="cli", comment=f"revert import {import_id}")
    done = Restored()
    for layer, ids in touched.items():
        restore(conn, tables[layer], layer, ids, at - JUST_BEFORE, done)
    return done
