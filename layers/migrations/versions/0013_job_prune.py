"""Old jobs go: `meta.job_prune(days)` deletes the jobs that ended more than that many
days ago (layers.processes.jobs_table), run by every job runner and `gisdb jobs prune`.

Revision ID: 0013
"""
from alembic import op

from layers.processes.jobs_table import install_jobs

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    install_jobs(op.get_bind())


def downgrade() -> None:
    op.get_bind().exec_driver_sql("DROP FUNCTION IF EXISTS meta.job_prune(int)")
