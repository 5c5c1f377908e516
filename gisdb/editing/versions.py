"""A feature's version: PostgreSQL's `xmin` of its row, the id of the transaction that
wrote that row version. Every change of a row (an API edit, an import, a DBA's SQL)
writes a new row version with a new `xmin`, and no column is added to the layers (the
served properties stay as they are). The version check is part of the write itself
(`UPDATE ... WHERE id = :id AND xmin = :expected`): two writers holding the same version
cannot both succeed, the second re-reads the row after the first commits and finds a
new `xmin`. An ETag carries the version before a dot: `"<xmin>.<tag of the answer>"`."""
from __future__ import annotations

import re

import sqlalchemy as sa

_ETAG = re.compile(r'^(?:W/)?"([0-9]{1,10})\.[0-9a-f]{1,64}"$')
ANY = "*"
NO_MATCH = "0"          # no row version is 0 (InvalidTransactionId): a stale If-Match


def row_version(table: sa.Table) -> sa.ColumnElement:
    """The row version of `table`'s rows as text (the `xmin` system column)."""
    return sa.cast(sa.literal_column(f'"{table.schema}"."{table.name}".xmin'), sa.Text)


def version_from_etag(header: str | None) -> str | None:
    """The version named by an If-Match header (or a transaction's `if_match`): the
    first of its ETags made by this service; ANY for `*`; NO_MATCH when it names none
    of ours (the client's copy is not current: 412); None without a header (428)."""
    if not header:
        return None
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*":
            return ANY
        match = _ETAG.match(candidate)
        if match:
            return match.group(1)
    return NO_MATCH
