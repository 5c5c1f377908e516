"""The layered model: land, construction and traffic schemas, their tables,
constraints, spatial indexes and data-version triggers.

Revision ID: 0001
"""
from alembic import op

import layers.registry as registry
from gisdb.meta_tables import LayerVersion, SchemaState
from gisdb.model import META_SCHEMA, Base
from gisdb.versions import install_version_function, track_table

# Case- and diacritic-insensitive text for search ("hai chau" finds "Hải Châu"); IMMUTABLE
# so that it can back expression indexes.
FOLD_FUNCTION_DDL = """
CREATE OR REPLACE FUNCTION meta.fold(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, t)) $$;
"""

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    for schema in (META_SCHEMA, *registry.SCHEMAS):
        conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS " + schema)
    tables = [t for t in Base.metadata.sorted_tables if t.schema in registry.SCHEMAS]
    Base.metadata.create_all(conn, tables=[LayerVersion.__table__, SchemaState.__table__, *tables])
    install_version_function(conn)
    conn.exec_driver_sql(FOLD_FUNCTION_DDL)
    for schema, table in registry.tracked_tables():
        track_table(conn, schema, table)


def downgrade() -> None:
    conn = op.get_bind()
    for schema in (*reversed(registry.SCHEMAS),):
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS " + schema + " CASCADE")
    conn.exec_driver_sql("DROP TABLE IF EXISTS meta.layer_versions, meta.state")
    conn.exec_driver_sql("DROP FUNCTION IF EXISTS meta.bump_layer_version()")
    conn.exec_driver_sql("DROP FUNCTION IF EXISTS meta.fold(text)")
