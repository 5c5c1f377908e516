"""Time travel: a read statement over the layer tables, rewritten to read the database
as it was at an instant (`as_of`).

The one switch of every read path (items, single features, the spatial queries, vector
and PNG tiles): the statement is built exactly as for the current state, then each
reference to a tracked table (or an alias of one) is swapped for the table's versions
valid at that instant (`gisdb.history.as_of.versions_as_of`, the same column names), so
filters, boxes, `datetime`, sorting and paging apply unchanged. Without `as_of` nothing
here runs: the current state is read with exactly today's SQL.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.sql import visitors
from sqlalchemy.sql.selectable import Alias

from gisdb.history.as_of import versions_as_of

from .registry import history_tracked

AS_OF = "as_of"


def as_of_param() -> sa.BindParameter:
    """The instant as a named bound parameter (`values["as_of"]`), for statements built
    once and run for many instants."""
    return sa.bindparam(AS_OF, type_=sa.DateTime(timezone=True))


def _tracked() -> dict[sa.Table, str]:
    return {table: layer_id for layer_id, table in history_tracked()}


def travel(stmt, at: dt.datetime | sa.BindParameter):
    """`stmt` (a Select, or any clause) reading every tracked table as of `at` (a
    timezone-aware datetime, or `as_of_param()`)."""
    tracked = _tracked()
    sources: dict[object, sa.FromClause] = {}

    def source_of(origin) -> sa.FromClause | None:
        """The versions standing in for a table or an alias of a table."""
        if origin in sources:
            return sources[origin]
        table = origin.element if isinstance(origin, Alias) else origin
        if not isinstance(table, sa.Table) or table not in tracked:
            return None
        versions = versions_as_of(table, at)
        sources[origin] = versions.alias(origin.name) if origin is not table else versions
        return sources[origin]

    def replace(element):
        if isinstance(element, (sa.Table, Alias)):
            return source_of(element)
        if isinstance(element, sa.Column) and element.table is not None:
            source = source_of(element.table)
            return None if source is None else source.c[element.name]
        return None

    return visitors.replacement_traverse(stmt, {}, replace)


def as_of_statement(stmt, at: dt.datetime | None):
    """`stmt` itself without an instant (today's SQL, untouched), else `travel(stmt, at)`."""
    return stmt if at is None else travel(stmt, at)
