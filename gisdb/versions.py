"""Per-table data versions: a statement-level trigger bumps a table's version from one
global sequence on every INSERT, UPDATE, DELETE or TRUNCATE, so caches and ETags can
follow the data without a restart.

This module is the one place that reads `meta.layer_versions` (the `LayerVersion`
model): `table_versions` for ordinary callers, `versions_object` / `version_of` for
statements that read a version beside something else (the tile's own statement, the
feature API's table state), and `VERSIONS_SQL`, the same lookup compiled once for the
tile server's prepared statement on the driver connection (see tiles.driver).
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from .meta_tables import LayerVersion

LAYER_VERSIONS = LayerVersion.__table__

VERSION_FUNCTION_DDL = """
CREATE SEQUENCE IF NOT EXISTS meta.data_version_seq;
-- The version an update writes is drawn in DO UPDATE SET, after the row's lock is held:
-- a writer that waited for another's commit draws a number above the one committed, so a
-- table's version never goes backwards (a value drawn before the wait could be lower).
CREATE OR REPLACE FUNCTION meta.bump_layer_version() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  INSERT INTO meta.layer_versions (table_name, version, changed_at)
  VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, nextval('meta.data_version_seq'), now())
  ON CONFLICT (table_name) DO UPDATE
    SET version = nextval('meta.data_version_seq'), changed_at = EXCLUDED.changed_at;
  RETURN NULL;
END $$;
"""


def install_version_function(conn: Connection) -> None:
    """Create the version sequence and the trigger function that bumps a table's version
    (SECURITY DEFINER: a role that may change a layer's rows, the write role, bumps its
    version without any right on `meta.layer_versions`)."""
    conn.exec_driver_sql(VERSION_FUNCTION_DDL)


def track_table(conn: Connection, schema: str, table: str) -> None:
    """Attach the version trigger to `schema.table` and give it a first version."""
    prep = conn.dialect.identifier_preparer
    qualified = prep.quote_schema(schema) + "." + prep.quote_identifier(table)
    for name, events in (("bump_version_rows", "INSERT OR UPDATE OR DELETE"),
                         ("bump_version_truncate", "TRUNCATE")):
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS " + name + " ON " + qualified)
        conn.exec_driver_sql("CREATE TRIGGER " + name + " AFTER " + events + " ON " + qualified
                             + " FOR EACH STATEMENT EXECUTE FUNCTION meta.bump_layer_version()")
    first = postgresql.insert(LAYER_VERSIONS).values(
        table_name=f"{schema}.{table}", version=func.nextval("meta.data_version_seq"))
    conn.execute(first.on_conflict_do_nothing())


def untrack_table(conn: Connection, schema: str, table: str) -> None:
    """Forget the version of `schema.table` (a migration's downgrade that drops it)."""
    conn.execute(sa.delete(LAYER_VERSIONS).where(
        LAYER_VERSIONS.c.table_name == f"{schema}.{table}"))


def _among(tables: sa.ColumnElement) -> sa.ColumnElement:
    return LAYER_VERSIONS.c.table_name == sa.any_(tables)


def versions_query(tables: sa.ColumnElement) -> sa.Select:
    """(table_name, version) rows of the `schema.table` names in `tables`, a text array:
    a bind parameter, or a constant written into the statement text."""
    return sa.select(LAYER_VERSIONS.c.table_name, LAYER_VERSIONS.c.version).where(_among(tables))


def versions_object(tables: sa.ColumnElement) -> sa.ScalarSelect:
    """The same versions as one JSON object {'schema.table': version}, a scalar subquery:
    another statement (a tile's) reads them in its own round trip."""
    agg = func.json_object_agg(LAYER_VERSIONS.c.table_name, LAYER_VERSIONS.c.version)
    return sa.select(agg).where(_among(tables)).scalar_subquery()


def version_of(table: sa.ColumnElement) -> sa.ScalarSelect:
    """The version of one `schema.table` (NULL when it is not tracked), a scalar subquery."""
    return (sa.select(LAYER_VERSIONS.c.version)
            .where(LAYER_VERSIONS.c.table_name == table).scalar_subquery())


_TABLES = sa.bindparam("tables", type_=sa.ARRAY(sa.Text))
_SOME = versions_query(_TABLES)
_ALL = sa.select(LAYER_VERSIONS.c.table_name, LAYER_VERSIONS.c.version)

# `table_versions(conn, tables)` as driver SQL with one positional parameter (the list of
# tables), compiled once: the tile server prepares it on the psycopg connection
VERSIONS_SQL = str(_SOME.compile(dialect=postgresql.psycopg.dialect(paramstyle="format")))


def table_versions(conn: Connection, tables: list[str] | None = None) -> dict[str, int]:
    """Current version of each `schema.table` (all tracked tables when `tables` is None)."""
    if tables is None:
        rows = conn.execute(_ALL)
    else:
        rows = conn.execute(_SOME, {"tables": list(tables)})
    return {name: int(version) for name, version in rows}
