"""Low-zoom composite tiles and deep paging on a big city (run by hand, never in tests).

    GISDB_DATABASE_NAME=tiles_s90 .venv/bin/gisdb sample --scale 90      # ~2.7M features
    GISDB_DATABASE_NAME=tiles_s90 .venv/bin/python bench/lowzoom_bench.py [--zooms 8-12 --tiles 30]

Tiles: at each zoom, up to --tiles non-empty tiles over the roads' extent (a fixed
random choice, seed 1), every layer of the registry, uncached, drawn as the server draws
them (tiles.bounded); prints p50/p95 ms and the largest gzipped tile against issue 16's
targets (p95 <= 200 ms, <= 500 KB). Paging: the last page of buildings (limit 1000) by
the keyset `after` against the same page by `offset`, alternating (--pages times each),
through the app's items endpoint in process.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from gisdb.engine import make_engine  # noqa: E402
from gisdb.settings import Settings  # noqa: E402
from layers.extent import layer_extent  # noqa: E402
from layers.registry import ALL_LAYERS, get_layer  # noqa: E402
from tiles.bounded import MAX_TILE_BYTES, bounded  # noqa: E402
from tiles.grid import parse_zoom_range, tiles_in_bbox  # noqa: E402
from tiles.mvt import render_mvt  # noqa: E402
from tiles.vector import _gzip  # noqa: E402


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def tile_report(conn, low: int, high: int, per_zoom: int) -> None:
    """p50/p95 render time and the heaviest gzipped tile per zoom."""
    extent = layer_extent(conn, get_layer("roads"), estimated=False)
    box = (extent.west, extent.south, extent.east, extent.north)
    rng = random.Random(1)
    print(f"{'z':>3}{'tiles':>7}{'p50 ms':>9}{'p95 ms':>9}{'max gzip KB':>13}")
    for z in range(low, high + 1):
        tiles = list(tiles_in_bbox(box, z))
        rng.shuffle(tiles)
        times, sizes = [], []
        for tile in tiles:
            started = time.perf_counter()
            packed = bounded(lambda b: (render_mvt(conn, ALL_LAYERS, tile, budget=b), {}), _gzip)[0]
            if packed:
                times.append((time.perf_counter() - started) * 1000)
                sizes.append(len(packed))
            if len(times) >= per_zoom:
                break
        if times:
            print(f"{z:>3}{len(times):>7}{statistics.median(times):>9.0f}{p95(times):>9.0f}"
                  f"{max(sizes) / 1024:>13.0f}")
    print(f"targets: p95 <= 200 ms, gzip <= {MAX_TILE_BYTES // 1024} KB")


def paging_report(settings: Settings, pages: int) -> None:
    """The last page of buildings by keyset and by offset, in process."""
    from webmap.app import create_app
    client = create_app({"SETTINGS": settings}).test_client()
    table = get_layer("buildings").table
    engine = make_engine(settings)
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        last = conn.execute(sa.select(table.c.id).order_by(table.c.id).offset(total - 1001)
                            .limit(1)).scalar_one()
    urls = {"after": f"/collections/buildings/items?limit=1000&after={last}",
            "offset": f"/collections/buildings/items?limit=1000&offset={total - 1000}"}
    times: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(pages):
        for name, url in urls.items():
            started = time.perf_counter()
            resp = client.get(url)
            assert resp.status_code == 200, resp.get_data(as_text=True)[:200]
            times[name].append((time.perf_counter() - started) * 1000)
    print(f"last page of {total:,} buildings (limit 1000):")
    for name, values in times.items():
        print(f"  {name:<7} median {statistics.median(values):8.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--zooms", default="8-12")
    parser.add_argument("--tiles", type=int, default=30, help="non-empty tiles per zoom")
    parser.add_argument("--pages", type=int, default=5)
    args = parser.parse_args()
    settings = Settings.from_env()
    engine = make_engine(settings, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("SET statement_timeout = 0")
        tile_report(conn, *parse_zoom_range(args.zooms), args.tiles)
    paging_report(settings, args.pages)


if __name__ == "__main__":
    main()
