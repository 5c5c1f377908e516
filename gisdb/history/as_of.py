"""Time travel: a tracked table as it was at an instant, read from its version table."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from .tables import history_table


def valid_at(hist: sa.Table, at: dt.datetime | sa.ColumnElement) -> sa.ColumnElement:
    """The versions current at `at`: hist_from <= at < hist_to (NULL: still current)."""
    return sa.and_(hist.c.hist_from <= at, sa.or_(hist.c.hist_to.is_(None), hist.c.hist_to > at))


def versions_as_of(table: sa.Table, at: dt.datetime) -> sa.FromClause:
    """`table`'s rows as of `at` (transaction time), with the table's own column names
    (a subquery named like the table, usable wherever the table is)."""
    hist = history_table(table)
    columns = [hist.c[c.name] for c in table.columns]
    return sa.select(*columns).where(valid_at(hist, at)).subquery(table.name)
