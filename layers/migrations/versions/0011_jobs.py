"""The processes' job store: `meta.jobs` and the SECURITY DEFINER functions through
which the web's read role submits, runs and dismisses jobs (layers.processes.jobs_table).

Revision ID: 0011
"""
from alembic import op

from layers.processes.jobs_table import install_jobs, remove_jobs

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    install_jobs(op.get_bind())


def downgrade() -> None:
    remove_jobs(op.get_bind())
