"""Per-table data versions: a statement-level trigger bumps a table's version from one
global sequence on every INSERT, UPDATE, DELETE or TRUNCATE, so caches and ETags can
follow the data without a restart."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

VERSION_FUNCTION_DDL = """
CREATE SEQUENCE IF NOT EXISTS meta.data_version_seq;
CREATE OR REPLACE FUNCTION meta.bump_layer_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO meta.layer_versions (table_name, version, changed_at)
  VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, nextval('meta.data_version_seq'), now())
  ON CONFLICT (table_name) DO UPDATE
    SET version = EXCLUDED.version, changed_at = EXCLUDED.changed_at;
  RETURN NULL;
END $$;
"""


def install_version_function(conn: Connection) -> None:
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
    conn.execute(sa.text(
        "INSERT INTO meta.layer_versions (table_name, version) "
        "VALUES (:t, nextval('meta.data_version_seq')) ON CONFLICT DO NOTHING"),
        {"t": f"{schema}.{table}"})


def table_versions(conn: Connection, tables: list[str] | None = None) -> dict[str, int]:
    """Current version of each `schema.table` (all tracked tables when `tables` is None)."""
    if tables is None:
        rows = conn.execute(sa.text("SELECT table_name, version FROM meta.layer_versions"))
    else:
        rows = conn.execute(sa.text("SELECT table_name, version FROM meta.layer_versions "
                                    "WHERE table_name = ANY(:t)"), {"t": list(tables)})
    return {name: int(version) for name, version in rows}
