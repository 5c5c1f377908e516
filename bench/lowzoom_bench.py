"""Low-zoom composite tiles and deep paging on a big city (run by hand, never in tests).

    .venv/bin/gisdb sample --scale 35      # ~1M features (the overviews are built after it)
    .venv/bin/python bench/lowzoom_bench.py [--zooms 8-12 --tiles 30] [--no-paging]

Tiles: at each zoom, the densest tile (tiles.density) and up to --tiles - 1 non-empty
tiles over the roads' extent (a fixed random choice, seed 1), every layer of the
registry, uncached, drawn as the server draws them (tiles.bounded), once from the stored
overviews and once simplifying the live rows (the baseline), alternating, --draws times
each (a tile's time is its median draw); prints
p50/p95/p99 ms, the heaviest gzipped tile and the mean features per tile of each, and
the same-run p95 ratio, against issue 16's targets (p95 <= 200 ms, <= 500 KB). Paging: the last page of buildings (limit 1000) by
the keyset `after` against the same page by `offset`, alternating (--pages times each),
through the app's items endpoint in process.
"""
from __future__ import annotations

import argparse
import gzip
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import mapbox_vector_tile  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from gisdb.engine import make_engine  # noqa: E402
from gisdb.settings import Settings  # noqa: E402
from layers.extent import layer_extent  # noqa: E402
from layers.registry import ALL_LAYERS, get_layer  # noqa: E402
from tiles.bounded import MAX_TILE_BYTES, bounded  # noqa: E402
from tiles.density import densest_tile  # noqa: E402
from tiles.grid import parse_zoom_range, tiles_in_bbox  # noqa: E402
from tiles.mvt import render_mvt  # noqa: E402
from tiles.overviews import overview_status  # noqa: E402
from tiles.vector import _gzip  # noqa: E402


def pct(values: list[float], q: float) -> float:
    return sorted(values)[max(0, round(q * len(values)) - 1)]


def draw(conn, tile, overviews: bool) -> tuple[float, bytes]:
    """(ms, gzipped tile) of every layer at `tile`, uncached, as the server draws it."""
    started = time.perf_counter()
    packed = bounded(lambda b: (render_mvt(conn, ALL_LAYERS, tile, budget=b, overviews=overviews), {}),
                     _gzip)[0]
    return (time.perf_counter() - started) * 1000, packed


def features(packed: bytes) -> int:
    doc = mapbox_vector_tile.decode(gzip.decompress(packed)) if packed else {}
    return sum(len(layer["features"]) for layer in doc.values())


def tile_report(conn, low: int, high: int, per_zoom: int, draws: int) -> None:
    """Per zoom, on the same tiles (the densest one plus random non-empty ones), the
    stored overviews against simplifying the live rows, alternating, each tile drawn
    `draws` times per mode (its time: the median draw, so that one slow moment of a busy
    machine is not a tile's p95): p50/p95/p99 ms over the tiles, the heaviest gzipped tile
    and the mean features per tile."""
    status = {row["layer"]: row["current"] for row in overview_status(conn)}
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    print("overviews current:", ", ".join(f"{k}={v}" for k, v in status.items()))
    extent = layer_extent(conn, get_layer("roads"), estimated=False)
    box = (extent.west, extent.south, extent.east, extent.north)
    rng = random.Random(1)
    print(f"{'z':>3}{'mode':>10}{'tiles':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
          f"{'max gz KB':>11}{'mean feat':>11}{'p95 ratio':>11}")
    for z in range(low, high + 1):
        dense, _ = densest_tile(conn, ALL_LAYERS, z)
        candidates = [t for t in tiles_in_bbox(box, z) if t != dense]
        rng.shuffle(candidates)
        times = {"overviews": [], "live": []}
        sizes = {"overviews": [], "live": []}
        counts = {"overviews": [], "live": []}
        for tile in [dense] + candidates:
            drawn = {"overviews": [], "live": []}
            for i in range(draws):          # alternating; a tile's time: its median draw
                for mode in (("overviews", "live") if i % 2 else ("live", "overviews")):
                    drawn[mode].append(draw(conn, tile, mode == "overviews"))
            if not drawn["overviews"][0][1]:
                continue
            for mode, results in drawn.items():
                times[mode].append(statistics.median(ms for ms, _ in results))
                sizes[mode].append(len(results[0][1]))
                counts[mode].append(features(results[0][1]))
            if len(times["live"]) >= per_zoom:
                break
        for mode in ("overviews", "live"):
            if times[mode]:
                ratio = pct(times["live"], 0.95) / pct(times[mode], 0.95)
                print(f"{z:>3}{mode:>10}{len(times[mode]):>7}{statistics.median(times[mode]):>9.0f}"
                      f"{pct(times[mode], 0.95):>9.0f}{pct(times[mode], 0.99):>9.0f}"
                      f"{max(sizes[mode]) / 1024:>11.0f}{statistics.mean(counts[mode]):>11.0f}"
                      f"{ratio:>10.1f}x")
    print(f"load average {os.getloadavg()[0]:.1f} at end")
    print(f"targets: p95 <= 200 ms, gzip <= {MAX_TILE_BYTES // 1024} KB; ratio: live p95 / this p95")


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
    parser.add_argument("--draws", type=int, default=3, help="draws of each tile per mode")
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--no-paging", action="store_true")
    args = parser.parse_args()
    settings = Settings.from_env()
    engine = make_engine(settings, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("SET statement_timeout = 0")
        tile_report(conn, *parse_zoom_range(args.zooms), args.tiles, args.draws)
    if not args.no_paging:
        paging_report(settings, args.pages)


if __name__ == "__main__":
    main()
