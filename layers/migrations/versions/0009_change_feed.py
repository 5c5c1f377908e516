"""The change feed's commit order: `meta.feed_commits` numbers each writing
transaction at commit (a deferred constraint trigger under an advisory lock, with a
NOTIFY), `meta.feed_horizon` holds the tokens' key and the pruned position, and the
read role may read the history schema (gisdb.feed.commit_order); the webhooks'
tables `meta.hooks` and `meta.hook_dead_letters` (gisdb.feed.hooks).

Revision ID: 0009
"""
from alembic import op

from gisdb.feed.commit_order import install_feed, remove_feed
from gisdb.feed.hooks import install_hooks

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    install_feed(op.get_bind())
    install_hooks(op.get_bind())


def downgrade() -> None:
    remove_feed(op.get_bind())
    op.get_bind().exec_driver_sql("DROP TABLE IF EXISTS meta.hook_dead_letters, meta.hooks")
