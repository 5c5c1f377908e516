"""The tiles' overviews (issue 16): schema `overviews` with `overviews.features`
(generalised copies of the low-zoom layers, partitioned by layer and zoom band) and
`overviews.state` (the data version each layer's overviews were built from). The read
role reads them; the write role rebuilds them (a write refreshes them after its commit).

Revision ID: 0014
"""
from alembic import op

from gisdb.roles import grant_edit, grant_read
from layers.overview_table import SCHEMA, has_overviews, install_overviews, remove_overviews
from layers.registry import ALL_LAYERS

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    install_overviews(conn, [layer.id for layer in ALL_LAYERS if has_overviews(layer)])
    grant_read(conn, (SCHEMA,))
    grant_edit(conn, (SCHEMA,))


def downgrade() -> None:
    remove_overviews(op.get_bind())
