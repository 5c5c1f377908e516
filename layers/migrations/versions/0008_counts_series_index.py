"""A covering index for a station's time series: (station_id, counted_at) with the
counts and the speed included, so a year of hourly counts of one station (8,760 rows
among every station's) is read by an index-only scan, in time order, without visiting
the table's pages (bench/counts_bench.py measures it).

Revision ID: 0008
"""
from alembic import op

revision = "0008"
down_revision = ("0005", "0007")     # joins the two heads of this branch (access, writes)
branch_labels = None
depends_on = None

INDEX = "traffic_counts_series"


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS " + INDEX + " ON traffic.traffic_counts "
               "(station_id, counted_at) INCLUDE (motorbikes, cars, trucks, buses, avg_speed_kmh)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS traffic." + INDEX)
