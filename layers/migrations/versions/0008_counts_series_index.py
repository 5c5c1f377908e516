"""A covering index for a station's time series: (station_id, counted_at) with the
counts and the speed included, so a year of hourly counts of one station (8,760 rows
among every station's) is read by an index-only scan, in time order, without visiting
the table's pages (bench/counts_bench.py measures it). And counts are hourly: a CHECK
that `counted_at` is on the hour (in any zone's offset of whole hours; tested on the
epoch, so it holds whatever the session's time zone), so a station's hourly series is
its rows as they are, with no aggregate.

Revision ID: 0008
"""
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEX = "traffic_counts_series"
HOURLY = "traffic_counts_on_the_hour"


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS " + INDEX + " ON traffic.traffic_counts "
               "(station_id, counted_at) INCLUDE (motorbikes, cars, trucks, buses, avg_speed_kmh)")
    op.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = '" + HOURLY + "') "
               "THEN ALTER TABLE traffic.traffic_counts ADD CONSTRAINT " + HOURLY
               + " CHECK (mod(extract(epoch FROM counted_at), 3600) = 0); END IF; END $$")


def downgrade() -> None:
    op.execute("ALTER TABLE traffic.traffic_counts DROP CONSTRAINT IF EXISTS " + HOURLY)
    op.execute("DROP INDEX IF EXISTS traffic." + INDEX)
