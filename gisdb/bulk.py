"""Bulk loading with PostgreSQL COPY (the fast path for imports and the sample city).

Geometries travel as hex EWKB text, which PostGIS parses directly; the caller builds
them in bulk (e.g. `shapely.to_wkb(geoms, hex=True, include_srid=True)`), never one
feature at a time through an ORM."""
from __future__ import annotations

from typing import Iterable, Sequence

import sqlalchemy as sa
from psycopg import sql


def copy_rows(conn: sa.Connection, schema: str, table: str, columns: Sequence[str],
              rows: Iterable[Sequence]) -> int:
    """COPY `rows` into `schema.table(columns)` on the connection's current transaction.
    Schema, table and column names come from the layer registry, never from users.
    Returns the number of rows written."""
    raw = conn.connection.driver_connection
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(schema, table), sql.SQL(", ").join(map(sql.Identifier, columns)))
    count = 0
    with raw.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count
