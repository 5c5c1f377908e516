"""The violations layer (issue 14): schema `planning` with `planning.violations` (one
row per rule and offending feature, refreshed from the rule catalogue) and
`planning.rule_state` (the input data versions each rule was last refreshed at). The
violations table has a data version (ETags and tiles follow refreshes); the read role
may read the schema, and the write role may refresh it (writes after an edit do).

Revision ID: 0010
"""
from alembic import op

from gisdb.model import Base
from gisdb.roles import grant_edit, grant_read
from gisdb.versions import track_table, untrack_table
from layers.planning.violations_table import SCHEMA, RuleState, Violation

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS " + conn.dialect.identifier_preparer.quote_schema(SCHEMA))
    Base.metadata.create_all(conn, tables=[Violation.__table__, RuleState.__table__])
    track_table(conn, SCHEMA, Violation.__tablename__)
    grant_read(conn, (SCHEMA,))
    grant_edit(conn, (SCHEMA,))


def downgrade() -> None:
    conn = op.get_bind()
    untrack_table(conn, SCHEMA, Violation.__tablename__)
    conn.exec_driver_sql("DROP SCHEMA IF EXISTS " + conn.dialect.identifier_preparer.quote_schema(SCHEMA)
                         + " CASCADE")
