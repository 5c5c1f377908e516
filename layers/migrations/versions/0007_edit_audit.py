"""The edit audit trail (`meta.audit`), and what the write role needs of it: INSERT (a
write logs itself in its own transaction) and SELECT on it and on the import log (the
admins' `/audit` reads both), granted to `gisdb_editor` when that role exists.

Revision ID: 0007
"""
from alembic import op

from gisdb.meta_tables import AuditEntry

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

EDIT_ROLE = "gisdb_editor"

GRANTS = f"""
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{EDIT_ROLE}') THEN
    GRANT USAGE ON SCHEMA meta TO {EDIT_ROLE};
    GRANT SELECT, INSERT ON meta.audit TO {EDIT_ROLE};
    GRANT SELECT ON meta.imports TO {EDIT_ROLE};
  END IF;
END $$;
"""


def upgrade() -> None:
    conn = op.get_bind()
    AuditEntry.__table__.create(conn, checkfirst=True)
    conn.exec_driver_sql(GRANTS)


def downgrade() -> None:
    AuditEntry.__table__.drop(op.get_bind(), checkfirst=True)
