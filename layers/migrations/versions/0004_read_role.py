"""Least privilege for the web: `gisdb_reader` gets USAGE on the layer schemas and
`meta`, SELECT on every layer table (now and, through default privileges, the tables
this owner creates there later) and on the meta tables the web reads; PUBLIC loses
TEMPORARY on the database. The web's login role `gisdb_web` is a member (gisdb.roles).

Revision ID: 0004
"""
from alembic import op

import layers.registry as registry
from gisdb.roles import READ_ROLE, WEB_META_TABLES, grant_read

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    grant_read(op.get_bind(), registry.SCHEMAS)


def downgrade() -> None:
    conn = op.get_bind()
    exists = conn.exec_driver_sql(
        "SELECT 1 FROM pg_roles WHERE rolname = '" + READ_ROLE + "'").scalar()
    if not exists:
        return
    for schema in registry.SCHEMAS:
        conn.exec_driver_sql("ALTER DEFAULT PRIVILEGES IN SCHEMA " + schema
                             + " REVOKE SELECT ON TABLES FROM " + READ_ROLE)
        conn.exec_driver_sql("REVOKE ALL ON ALL TABLES IN SCHEMA " + schema + " FROM " + READ_ROLE)
        conn.exec_driver_sql("REVOKE USAGE ON SCHEMA " + schema + " FROM " + READ_ROLE)
    for table in WEB_META_TABLES:
        conn.exec_driver_sql("REVOKE ALL ON " + table + " FROM " + READ_ROLE)
    conn.exec_driver_sql("REVOKE USAGE ON SCHEMA meta FROM " + READ_ROLE)
