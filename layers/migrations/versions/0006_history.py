"""History of every change: the `history` schema, the change log `history.changes`,
and for the eleven layers and `traffic.traffic_counts` a version table, its indexes
and statement-level triggers (gisdb.history.triggers). Each table's current rows are
its first version (op I, source `baseline`, from the migration's time).

Revision ID: 0006
"""
from alembic import op

import layers.registry as registry
from gisdb.history.triggers import install_history, install_schema, remove_history

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    install_schema(conn)
    for layer_id, table in registry.history_tracked():
        install_history(conn, table, layer_id)


def downgrade() -> None:
    conn = op.get_bind()
    for _, table in registry.history_tracked():
        remove_history(conn, table)
    conn.exec_driver_sql("DROP SCHEMA IF EXISTS history CASCADE")
