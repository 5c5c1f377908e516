"""Who may do what: users, API keys (hashed), grants and hidden layers in `meta`, read
by the web's role; the write role `gisdb_editor` limited to the layers' rows; the
data-version trigger becomes SECURITY DEFINER so that role bumps versions without any
right on `meta.layer_versions`.

Revision ID: 0005
"""
from alembic import op

import layers.registry as registry
from gisdb.access.keys import TOUCH_FUNCTION_DDL
from gisdb.access.tables import ACCESS_TABLES
from gisdb.access.visibility import VERSION_KEY
from gisdb.roles import EDIT_ROLE, READ_ROLE, grant_edit, grant_read, read_role_exists
from gisdb.versions import install_version_function, track_table, untrack_table

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    install_version_function(conn)
    for table in ACCESS_TABLES:
        table.create(conn, checkfirst=True)
    track_table(conn, *VERSION_KEY.split("."))
    conn.exec_driver_sql(TOUCH_FUNCTION_DDL)
    if grant_read(conn, registry.SCHEMAS):
        conn.exec_driver_sql("GRANT EXECUTE ON FUNCTION meta.touch_api_key(text) TO "
                             + READ_ROLE)
    grant_edit(conn, registry.SCHEMAS)


def downgrade() -> None:
    conn = op.get_bind()
    if read_role_exists(conn, EDIT_ROLE):
        prep = conn.dialect.identifier_preparer
        role = prep.quote_identifier(EDIT_ROLE)
        for schema in map(prep.quote_schema, registry.SCHEMAS):
            conn.exec_driver_sql("ALTER DEFAULT PRIVILEGES IN SCHEMA " + schema
                                 + " REVOKE ALL ON TABLES FROM " + role)
            conn.exec_driver_sql("ALTER DEFAULT PRIVILEGES IN SCHEMA " + schema
                                 + " REVOKE ALL ON SEQUENCES FROM " + role)
            conn.exec_driver_sql("REVOKE ALL ON ALL TABLES IN SCHEMA " + schema + " FROM " + role)
            conn.exec_driver_sql("REVOKE ALL ON ALL SEQUENCES IN SCHEMA " + schema + " FROM " + role)
            conn.exec_driver_sql("REVOKE USAGE ON SCHEMA " + schema + " FROM " + role)
        conn.exec_driver_sql("REVOKE USAGE ON SCHEMA meta FROM " + role)
    conn.exec_driver_sql("DROP FUNCTION IF EXISTS meta.touch_api_key(text)")
    untrack_table(conn, *VERSION_KEY.split("."))
    for table in reversed(ACCESS_TABLES):
        table.drop(conn, checkfirst=True)
