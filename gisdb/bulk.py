"""Bulk loading with PostgreSQL COPY (the fast path for imports and the sample city),
and deferring a table's secondary indexes while many rows go in.

Geometries travel as hex EWKB text, which PostGIS parses directly; the caller builds
them in bulk (e.g. `shapely.to_wkb(geoms, hex=True, include_srid=True)`), never one
feature at a time through an ORM.

A GiST, SP-GiST, BRIN or trigram GIN index updated row by row costs several times a
sorted build over the finished table: a load that more than doubles a table drops those
indexes first and builds them again afterwards, from the catalog's own definitions, in
the same transaction. Unique and primary-key indexes stay (they check the rows as they
go in). `DROP INDEX` holds an exclusive lock on the table until the commit: readers wait
rather than see a table without its indexes."""
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


BULK_MIN_ROWS = 20_000      # below this, updating the indexes row by row is cheap enough

SECONDARY_INDEXES = """
SELECT n.nspname, c.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND NOT i.indisunique
ORDER BY c.relname
"""


def worth_deferring(incoming: int, present: int) -> bool:
    """Whether `incoming` new rows into a table of `present` rows are better loaded with
    its secondary indexes dropped and built again afterwards."""
    return incoming >= BULK_MIN_ROWS and incoming >= present


def drop_secondary_indexes(conn: sa.Connection, tables: Iterable[str]) -> list[str]:
    """Drop the non-unique indexes of `tables` (`schema.table` names from the registry)
    and return their definitions, for `build_indexes` after the load."""
    raw = conn.connection.driver_connection
    definitions = []
    with raw.cursor() as cur:
        for table in tables:
            cur.execute(SECONDARY_INDEXES, (table,))
            for schema, name, definition in cur.fetchall():
                definitions.append(definition)
                cur.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(schema, name)))
    return definitions


def build_indexes(conn: sa.Connection, definitions: Iterable[str]) -> None:
    """Create the indexes again, exactly as the catalog described them."""
    for definition in definitions:
        conn.exec_driver_sql(definition)
