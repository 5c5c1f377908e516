"""The heaviest composite vector tile of every zoom (run by hand, never in tests).

    GISDB_DATABASE_NAME=tiles_bench .venv/bin/gisdb sample --scale 35     # ~1M features
    GISDB_DATABASE_NAME=tiles_bench .venv/bin/python bench/tile_size_bench.py [--zooms 8-16]

For each zoom, the densest tile (tiles.density: most feature centres of the layers
shown there) is rendered with every layer of the registry (their zoom ranges and the
generalisation policy and the size bound of tiles.bounded, as the server does),
uncached; prints features counted, MVT bytes of the first drawing, gzipped bytes served
and the time of both (median of --repeat), against the 500 KB gzipped bound of issue 16.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gisdb.engine import make_engine  # noqa: E402
from gisdb.settings import Settings  # noqa: E402
from layers.registry import ALL_LAYERS  # noqa: E402
from tiles.bounded import bounded  # noqa: E402
from tiles.density import densest_tile  # noqa: E402
from tiles.grid import parse_zoom_range  # noqa: E402
from tiles.mvt import render_mvt  # noqa: E402
from tiles.vector import _gzip  # noqa: E402

BOUND = 500 * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--zooms", default="8-16")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    low, high = parse_zoom_range(args.zooms)
    engine = make_engine(Settings.from_env(), isolation_level="AUTOCOMMIT")
    worst = 0
    print(f"{'z':>3}{'tile':>14}{'centres':>10}{'MVT KB':>10}{'gzip KB':>9}{'ms':>8}")
    with engine.connect() as conn:
        conn.exec_driver_sql("SET statement_timeout = 0")
        for z in range(low, high + 1):
            tile, count = densest_tile(conn, ALL_LAYERS, z)
            if tile is None:
                continue
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                raw = render_mvt(conn, ALL_LAYERS, tile)
                packed = len(bounded(lambda b: (render_mvt(conn, ALL_LAYERS, tile, budget=b), {}),
                                     _gzip)[0])
                times.append((time.perf_counter() - started) * 1000)
            worst = max(worst, packed)
            print(f"{z:>3}{f'{tile.x}/{tile.y}':>14}{count:>10,}{len(raw) / 1024:>10.0f}"
                  f"{packed / 1024:>9.0f}{statistics.median(times):>8.0f}")
    verdict = "OK" if worst <= BOUND else "TOO HEAVY"
    print(f"heaviest gzipped tile: {worst / 1024:.0f} KB (bound {BOUND // 1024} KB) {verdict}")


if __name__ == "__main__":
    main()
