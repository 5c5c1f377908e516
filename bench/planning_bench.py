"""Benchmark of the planning analyses (run by hand, never in tests).

Each is measured against a baseline in the same moment, alternating run by run (the
machine is shared):

- the corridor impact of a street widened to 40 m (`corridor_impact`, every segment of
  the street with the most segments) vs `/query/within`'s core (`queries.within`) over
  the same corridor for parcels and buildings (counts and areas inside, no list);
- the ward report of the ward with the most buildings (`ward_report`) vs `/query/stats`'s
  core for buildings per ward over the whole city;
- rendering that report as PDF (ReportLab) and XLSX vs JSON.

Prints the median of each, the median of the pairs' ratios and the load average.

    GISDB_DATABASE_NAME=planning_bench .venv/bin/gisdb sample --scale 5
    GISDB_DATABASE_NAME=planning_bench .venv/bin/python bench/planning_bench.py --repeat 15
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import sqlalchemy as sa

from gisdb.engine import make_engine
from gisdb.settings import Settings
from layers import queries
from layers.planning.impact import corridor_impact
from layers.planning.reports import ward_report
from layers.planning.reports.render import render
from layers.registry import get_layer

WIDTH = 40.0


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def pairs(name: str, ours, base, repeat: int) -> None:
    """Alternate `ours` and `base`, print both medians and the median ratio."""
    a, b = [], []
    for _ in range(repeat):
        a.append(timed(ours))
        b.append(timed(base))
    ratio = statistics.median(x / y for x, y in zip(a, b))
    print(f"{name:<42} {1000 * statistics.median(a):9.1f} ms vs {1000 * statistics.median(b):9.1f} ms"
          f"   ratio {ratio:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    engine = make_engine(Settings.from_env())
    with engine.connect() as conn:
        street = conn.execute(sa.text("SELECT name FROM traffic.roads WHERE name IS NOT NULL GROUP BY name "
                                      "ORDER BY count(*) DESC, name LIMIT 1")).scalar_one()
        ward = conn.execute(sa.text(
            "SELECT u.code FROM land.admin_units u JOIN construction.buildings b "
            "ON ST_Intersects(u.geom, ST_PointOnSurface(b.geom)) WHERE u.level = 'ward' AND u.valid_to IS NULL "
            "GROUP BY u.code ORDER BY count(*) DESC LIMIT 1")).scalar_one()
        result = corridor_impact(conn, road=street, width_m=WIDTH)
        corridor = queries.geojson_geometry(result.corridor, allowed=("Polygon", "MultiPolygon"))
        layers = (get_layer("parcels"), get_layer("buildings"))
        print(f"street {street!r}: {len(result.query['road_ids'])} segments, {len(result.features)} features; "
              f"ward {ward}")
        pairs("impact (list) vs within (sums)", lambda: corridor_impact(conn, road=street, width_m=WIDTH),
              lambda: queries.within(conn, corridor, layers), args.repeat)
        pairs("ward report vs stats(buildings by ward)", lambda: ward_report(conn, ward),
              lambda: queries.stats(conn, get_layer("buildings"), "ward"), args.repeat)
        report = ward_report(conn, ward)
    pairs("report PDF vs JSON", lambda: render(report, "pdf"), lambda: render(report, "json"), args.repeat)
    pairs("report XLSX vs JSON", lambda: render(report, "xlsx"), lambda: render(report, "json"), args.repeat)
    print("load average", " ".join(f"{v:.1f}" for v in os.getloadavg()))
    engine.dispose()


if __name__ == "__main__":
    main()
