"""Benchmark of the spatial queries and the search (run by hand, never in tests).

Runs identify, near, within (a 1 km square and a 300 m circle), stats and several
searches against an existing database (for example one loaded with `gisdb sample
--scale 36`, about 1,000,000 features), and, in the same run, the same calls with the
planner's index scans switched off: the baseline. Prints medians and the speed-up the
indexes give (baseline / indexed; > 1 means the indexes help).

    .venv/bin/python bench/queries_bench.py --database-url postgresql://... --repeat 5
"""
from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import sqlalchemy as sa

from gisdb.engine import make_engine
from gisdb.settings import Settings
from layers import queries
from layers.queries import inputs
from layers.registry import get_layer
from layers.search import search

SEARCHES = ("hai chau", "bach dang", "nguyen van linh", "to 5 thua 12", "ha")


def cases(lon: float, lat: float):
    d = 0.0045    # about 1 km at Da Nang's latitude
    square = inputs.geojson_geometry({"type": "Polygon", "coordinates": [[
        [lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d],
        [lon - d, lat - d]]]})
    out = {
        "identify (all layers)": lambda c: queries.identify(c, lon, lat, tolerance_m=5),
        "near buildings 200 m": lambda c: queries.near(c, get_layer("buildings"),
                                                       inputs.point(lon, lat), 200),
        "within 1 km square": lambda c: queries.within(c, square),
        "within circle 300 m": lambda c: queries.within(c, inputs.circle(lon, lat, 300)),
    }
    for q in SEARCHES:
        out[f"search {q!r}"] = lambda c, q=q: search(c, q)
    return out


def timed(engine: sa.Engine, call, repeat: int, indexes: bool) -> float:
    times = []
    for _ in range(repeat):
        with engine.connect() as conn, conn.begin():
            if not indexes:
                conn.exec_driver_sql("SET LOCAL enable_indexscan = off")
                conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            start = time.perf_counter()
            call(conn)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--lon", type=float, default=108.2)
    parser.add_argument("--lat", type=float, default=16.05)
    parser.add_argument("--stats", action="store_true", help="also time stats by ward "
                        "(a full pass over buildings; slow at 1M features)")
    args = parser.parse_args()
    settings = replace(Settings.from_env(), database_url=args.database_url,
                       statement_timeout_ms=600_000)
    engine = make_engine(settings, pool_size=1)
    with engine.connect() as conn:
        counts = {t: conn.execute(sa.select(sa.func.count()).select_from(get_layer(t).table))
                  .scalar_one() for t in ("parcels", "buildings", "roads")}
    print("rows:", counts)
    todo = cases(args.lon, args.lat)
    if args.stats:
        todo["stats buildings by ward"] = lambda c: queries.stats(c, get_layer("buildings"))
    print(f"{'query':34} {'indexed ms':>11} {'no index ms':>12} {'speed-up':>9}")
    for name, call in todo.items():
        fast = timed(engine, call, args.repeat, True)
        slow = timed(engine, call, max(1, args.repeat // 2), False)
        print(f"{name:34} {fast * 1000:11.1f} {slow * 1000:12.1f} {slow / fast:9.1f}")
    engine.dispose()


if __name__ == "__main__":
    main()
