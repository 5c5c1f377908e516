"""The edit audit trail (`meta.audit`), and what the write role needs of it: INSERT (a
write logs itself in its own statement) and SELECT on it and on `meta.import_trail`, a
view of the import log with what the one trail shows (no report, no file digest: the
write role still cannot read `meta.imports` itself), for the admins' `/audit`. Granted
to `gisdb_editor` when that role exists.

Revision ID: 0007
"""
from alembic import op

from gisdb.meta_tables import AuditEntry

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

EDIT_ROLE = "gisdb_editor"

IMPORT_TRAIL = """
CREATE OR REPLACE VIEW meta.import_trail AS
SELECT id, started_at, user_name, host, mode, layer_id, rows_loaded, message, status, file_name
FROM meta.imports WHERE NOT dry_run
"""

GRANTS = f"""
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{EDIT_ROLE}') THEN
    GRANT USAGE ON SCHEMA meta TO {EDIT_ROLE};
    GRANT SELECT, INSERT ON meta.audit TO {EDIT_ROLE};
    GRANT SELECT ON meta.import_trail TO {EDIT_ROLE};
  END IF;
END $$;
"""


def upgrade() -> None:
    conn = op.get_bind()
    AuditEntry.__table__.create(conn, checkfirst=True)
    conn.exec_driver_sql(IMPORT_TRAIL)
    conn.exec_driver_sql(GRANTS)


def downgrade() -> None:
    conn = op.get_bind()
    conn.exec_driver_sql("DROP VIEW IF EXISTS meta.import_trail")
    AuditEntry.__table__.drop(conn, checkfirst=True)
