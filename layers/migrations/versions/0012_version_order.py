"""Data versions never go backwards: the version trigger draws the number it writes after
it holds the version row's lock (gisdb.versions), so a writer that waited for another
writer's commit writes a higher number than the one that committed first.

Revision ID: 0012
"""
from alembic import op

from gisdb.versions import install_version_function

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    install_version_function(op.get_bind())


def downgrade() -> None:
    """Nothing to undo: the function's new body reads and writes what 0011's did."""
