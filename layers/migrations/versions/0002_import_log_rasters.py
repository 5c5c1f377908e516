"""Import log and raster catalog in the meta schema.

Revision ID: 0002
"""
from alembic import op

from gisdb.meta_tables import ImportRecord, RasterEntry

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    ImportRecord.__table__.create(conn, checkfirst=True)
    RasterEntry.__table__.create(conn, checkfirst=True)


def downgrade() -> None:
    conn = op.get_bind()
    RasterEntry.__table__.drop(conn, checkfirst=True)
    ImportRecord.__table__.drop(conn, checkfirst=True)
