"""What changed in a tracked table between two instants: added, removed, and changed
features with their changed fields, in one set-based statement over the version table.

Only the features with a version starting in (T1, T2] (the hist_from index finds them)
or deleted then (the change log's index on its time) are looked at, so the cost follows
the changes, not the table's size. A feature changed and changed back is not reported.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.engine import Connection

from gisdb.errors import InvalidParameter

from .as_of import valid_at
from .columns import compared_columns, key_column, natural_key
from .tables import CHANGES, history_table


@dataclass(frozen=True)
class DiffRow:
    """One feature that differs between T1 and T2."""

    change: str                      # added | removed | changed
    id: int
    key: dict                        # natural key values (T2's, or T1's when removed)
    fields: tuple[str, ...]          # the changed fields (changed only)


def diff_query(table: sa.Table, layer_id: str, t1: dt.datetime, t2: dt.datetime) -> sa.Select:
    """The statement: (change, id, natural key columns..., fields text[])."""
    hist = history_table(table)
    key = hist.c[key_column(table).name]
    started = sa.select(key).where(hist.c.hist_from > t1, hist.c.hist_from <= t2)
    deleted = sa.select(sa.cast(CHANGES.c.feature_id, key.type)).where(
        CHANGES.c.at > t1, CHANGES.c.at <= t2, CHANGES.c.layer == layer_id, CHANGES.c.op == "D")
    touched = sa.union(started, deleted).subquery("touched")

    def state(at: dt.datetime, name: str) -> sa.Subquery:
        return (sa.select(hist).join(touched, touched.c[key.name] == key)
                .where(valid_at(hist, at)).subquery(name))

    a, b = state(t1, "a"), state(t2, "b")
    names = compared_columns(table)
    differing = [sa.case((a.c[n].is_distinct_from(b.c[n]), sa.literal(n)), else_=sa.null()) for n in names]
    fields = sa.func.array_remove(array(differing, type_=sa.Text), sa.null())
    change = sa.case((a.c[key.name].is_(None), "added"), (b.c[key.name].is_(None), "removed"),
                     else_="changed")
    nk = [sa.func.coalesce(b.c[n], a.c[n]).label(n) for n in natural_key(table)]
    some_field = sa.or_(*[a.c[n].is_distinct_from(b.c[n]) for n in names])
    return (sa.select(change.label("change"), sa.func.coalesce(b.c[key.name], a.c[key.name]).label("id"),
                      *nk, fields.label("fields"))
            .select_from(a.join(b, a.c[key.name] == b.c[key.name], full=True))
            .where(sa.or_(a.c[key.name].is_(None), b.c[key.name].is_(None), some_field))
            .order_by("id"))


def diff_table(conn: Connection, table: sa.Table, layer_id: str, t1: dt.datetime,
               t2: dt.datetime) -> list[DiffRow]:
    """The differences of `table` from `t1` to `t2` (t1 < t2), ordered by id."""
    if t1 >= t2:
        raise InvalidParameter("--from must be before --to")
    keys = natural_key(table)
    rows = conn.execute(diff_query(table, layer_id, t1, t2))
    return [DiffRow(r.change, r.id, {k: getattr(r, k) for k in keys},
                    tuple(r.fields) if r.change == "changed" else ()) for r in rows]
