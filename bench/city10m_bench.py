"""Benchmark (run by hand): what a ten-million-feature city asks of the read path.

- deep paging: `/collections/buildings/items?limit=N` page 1 against the page `after`
an id ~90 % of the way through the layer (the `next` links' keyset), limit 1000 and
10000, alternating; prints medians, deep/first ratio, and the page statement's plan
(an index range scan, no sort, no count of the layer);
- `/query/stats` over whole layers by ward: the square lookup (ours) against the plain
spatial join of each feature's point on surface (the baseline), alternating, with the
request timeout beside.

GISDB_DATABASE_NAME=city10m gisdb sample --scale 350      # the 10M city (~20 min)
GISDB_DATABASE_NAME=city10m .venv/bin/python bench/city10m_bench.py --repeat 5
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import sqlalchemy as sa

from gisdb.engine import make_engine
from gisdb.settings import Settings
from layers.queries.stats import stats
from layers.registry import get_layer
from webmap.app import create_app

BASELINE_STATS = """
SELECT u.code, count(*), sum({measure})
FROM {table} f JOIN land.admin_units u ON ST_Intersects(u.geom, ST_PointOnSurface(f.geom))
WHERE u.level IN ('ward', 'commune') AND u.valid_from <= current_date
  AND (u.valid_to IS NULL OR u.valid_to > current_date)
GROUP BY u.code
"""


def paging(client, engine, repeat: int) -> None:
    with engine.connect() as conn:
        last = conn.execute(sa.text("SELECT max(id) FROM construction.buildings")).scalar_one()
        total = conn.execute(sa.text(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = 'construction.buildings'::regclass")).scalar_one()
    deep = int(last * 0.9)
    print(f"buildings: ~{total:,} rows, max id {last:,}; deep page after id {deep:,}")
    for limit in (1000, 10000):
        first_url = f"/collections/buildings/items?limit={limit}"
        deep_url = f"/collections/buildings/items?limit={limit}&after={deep}"
        times = {"first": [], "deep": []}
        for _ in range(repeat):
            for name, url in (("first", first_url), ("deep", deep_url)):
                start = time.perf_counter()
                response = client.get(url)
                times[name].append((time.perf_counter() - start) * 1000)
                doc = response.get_json()
                assert response.status_code == 200 and doc["numberReturned"] == limit, response.status_code
                assert "numberMatched" not in doc       # no count of 3 million rows per page
        first, deep_ms = statistics.median(times["first"]), statistics.median(times["deep"])
        print(f"  limit={limit:>5}: first page {first:8.1f} ms   deep page {deep_ms:8.1f} ms   "
              f"deep/first {deep_ms / first:.2f}x")
    with engine.connect() as conn:
        plan = conn.execute(sa.text(
            "EXPLAIN SELECT id FROM construction.buildings WHERE id > :after ORDER BY id LIMIT 10001"),
            {"after": deep}).scalars().all()
    print("  keyset plan:", " / ".join(line.strip() for line in plan))


def stats_vs_join(engine, layers: list[str], repeat: int, timeout_ms: int) -> None:
    print(f"/query/stats by ward (request timeout {timeout_ms / 1000:.0f} s):")
    for layer_id in layers:
        layer = get_layer(layer_id)
        measure = ("ST_Length(ST_Transform(f.geom, 5899))" if layer_id == "roads"
                   else "ST_Area(ST_Transform(f.geom, 5899))")
        sql = sa.text(BASELINE_STATS.format(measure=measure, table=layer.table_name))
        ours, base = [], []
        for _ in range(repeat):
            with engine.connect() as conn:
                start = time.perf_counter()
                stats(conn, layer, "ward")
                ours.append(time.perf_counter() - start)
            with engine.connect() as conn:
                start = time.perf_counter()
                conn.execute(sql).all()
                base.append(time.perf_counter() - start)
        o, b = statistics.median(ours), statistics.median(base)
        print(f"  {layer_id:>10}: ours {o:7.2f} s   plain join {b:7.2f} s   join/ours {b / o:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--stats-layers", default="parcels,buildings,roads")
    ap.add_argument("--stats-repeat", type=int, default=3)
    ap.add_argument("--skip-stats", action="store_true")
    args = ap.parse_args()
    print("load:", os.popen("uptime").read().strip())
    settings = Settings.from_env()
    engine = make_engine(settings, timeout_ms=0)
    client = create_app({"SETTINGS": settings}).test_client()
    paging(client, engine, args.repeat)
    if not args.skip_stats:
        stats_vs_join(engine, args.stats_layers.split(","), args.stats_repeat, settings.request_timeout_ms)
    print("load:", os.popen("uptime").read().strip())


if __name__ == "__main__":
    main()
