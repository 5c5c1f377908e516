"""Benchmark of the planners' map: does it stay fast when the database grows 100x?

For a small and a large sample city (default ~10,000 and ~1,000,000 features, each in its
own database, created and loaded with the sample generator unless they already hold it),
serve the app on a free local port and open `/map` in headless Debian Chromium, cold
(new browser context, no HTTP cache) at the same views. Measured per visit:
- time from navigation start to the first overlay tile drawn (an overlay <img> getting
  Leaflet's `leaflet-tile-loaded` class, seen by a MutationObserver);
- time until every tile of the view has arrived (the visit waits for it, so no rendering
  spills over into the next visit);
- page weight: bytes of the HTML, scripts and styles (tiles excluded), and HTML alone.
Visits alternate between the two cities so that both see the same machine load.
Prints medians and the ratio large/small (target < 1.5). Run by hand, never in tests:

    .venv/bin/python bench/map_bench.py                   # 10k vs 1M features
    .venv/bin/python bench/map_bench.py --large-scale 5   # a lighter run on a busy machine
"""
from __future__ import annotations

import argparse
import logging
import random
import shutil
import statistics
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from gisdb.database import create_database
from gisdb.engine import database_url, make_engine
from gisdb.errors import AlreadyLoaded
from gisdb.settings import Settings
from layers.registry import get_layer
from layers.schema import migrate

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
FEATURES_PER_SCALE = 29_000          # the sample generator's scale 1 (see layers/sample)
LAYERS = "admin_units,parcels,buildings,roads"

FIRST_TILE_OBSERVER = """
window.__firstOverlayTile = null;
new MutationObserver(function (records) {
  for (const r of records) {
    const el = r.target;
    if (window.__firstOverlayTile === null && el.tagName === 'IMG'
        && el.classList.contains('leaflet-tile-loaded')
        && el.src.indexOf('/tiles/') >= 0 && el.src.indexOf('/tiles/base/') < 0) {
      window.__firstOverlayTile = performance.now();
    }
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['class']});
"""

PAGE_WEIGHT = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const resources = performance.getEntriesByType('resource');
  const isTile = e => e.name.indexOf('/tiles/') >= 0 || e.name.indexOf('/rasters/') >= 0;
  const assets = resources.filter(e => !isTile(e));
  const tiles = resources.filter(isTile);
  const size = e => e.encodedBodySize || e.transferSize || 0;
  return {html: size(nav), total: size(nav) + assets.reduce((s, e) => s + size(e), 0),
          all_tiles_ms: Math.max(0, ...tiles.map(e => e.responseEnd)), tiles: tiles.length};
}"""


def database_for(base: Settings, scale: float) -> Settings:
    """Settings of a database holding the sample city at `scale` (created if needed)."""
    from layers.sample import load_sample_city
    name = "gisdb_bench_map_" + str(scale).replace(".", "_")
    url = create_database(base, name) if not _exists(base, name) else _url(base, name)
    settings = replace(base, database_url=url, data_dir=Path(tempfile.mkdtemp(prefix="mapbench")),
                       statement_timeout_ms=60_000)
    engine = make_engine(settings)
    migrate(engine)
    started = time.perf_counter()
    try:
        counts = load_sample_city(engine, scale=scale, seed=1, progress=True)
        print(f"loaded scale {scale}: {sum(v for k, v in counts.items() if k != 'traffic_counts'):,}"
              f" features in {time.perf_counter() - started:.0f} s")
    except AlreadyLoaded:
        print(f"database {name} already holds the sample")
    engine.dispose()
    return settings


def _url(base: Settings, name: str) -> str:
    return make_url(database_url(base)).set(database=name).render_as_string(hide_password=False)


def _exists(base: Settings, name: str) -> bool:
    admin = sa.create_engine(make_url(database_url(base)).set(database="postgres"),
                             poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        found = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
    admin.dispose()
    return found is not None


def feature_count(settings: Settings) -> int:
    engine = make_engine(settings)
    total = 0
    with engine.connect() as conn:
        for layer_id in ("admin_units", "parcels", "zoning", "buildings", "permits", "projects",
                         "roads", "intersections", "traffic_stations", "incidents", "cameras"):
            table = get_layer(layer_id).table
            total += conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    engine.dispose()
    return total


def views(settings: Settings, n: int, seed: int) -> list[tuple[float, float]]:
    """`n` (lon, lat) points on parcels of this city (used for both cities)."""
    t = get_layer("parcels").table
    pos = sa.func.ST_PointOnSurface(t.c.geom)
    engine = make_engine(settings)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.ST_X(pos), sa.func.ST_Y(pos)).order_by(t.c.id)
                            .limit(2000)).all()
    engine.dispose()
    rng = random.Random(seed)
    return [(float(x), float(y)) for x, y in rng.sample(rows, min(n, len(rows)))]


def serve(settings: Settings):
    from werkzeug.serving import make_server

    from webmap.app import create_app
    app = create_app({"SETTINGS": settings})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def visit(browser, url: str) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        ("http://127.0.0.1", "data:")) else route.abort())
    page.add_init_script(FIRST_TILE_OBSERVER)
    page.goto(url, wait_until="domcontentloaded", timeout=120_000)
    page.wait_for_function("window.__firstOverlayTile !== null", timeout=120_000)
    first = page.evaluate("window.__firstOverlayTile")
    # let every tile of the view finish, so no rendering spills into the next visit
    page.wait_for_load_state("networkidle", timeout=300_000)
    weight = page.evaluate(PAGE_WEIGHT)
    context.close()
    return {"first_tile_ms": first, **weight}


def view_url(base_url: str, lon: float, lat: float, zoom: int) -> str:
    return f"{base_url}/map?lang=vi#{zoom}/{lat:.6f}/{lon:.6f}/{LAYERS}/city"


def median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small-scale", type=float,
                        default=round(10_000 / FEATURES_PER_SCALE, 3))
    parser.add_argument("--large-scale", type=float,
                        default=round(1_000_000 / FEATURES_PER_SCALE, 1))
    parser.add_argument("--views", type=int, default=7, help="cold visits per city")
    parser.add_argument("--zoom", type=int, default=16)
    parser.add_argument("--prepare-only", action="store_true",
                        help="create and load the two databases, then stop")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    base = Settings.from_env()
    cities = {"small": database_for(base, args.small_scale),
              "large": database_for(base, args.large_scale)}
    sizes = {name: feature_count(s) for name, s in cities.items()}
    if args.prepare_only:
        print(sizes)
        for settings in cities.values():
            shutil.rmtree(settings.data_dir, ignore_errors=True)
        return
    points = views(cities["small"], args.views + 1, seed=7)
    results: dict[str, list[dict]] = {name: [] for name in cities}
    servers = {name: serve(settings) for name, settings in cities.items()}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for name, (_, url) in servers.items():       # warm each app (first import, pools)
                visit(browser, view_url(url, *points[0], args.zoom))
            for lon, lat in points[1:]:                   # alternate: same load for both
                for name, (_, url) in servers.items():
                    results[name].append(visit(browser, view_url(url, lon, lat, args.zoom)))
            browser.close()
    finally:
        for server, _ in servers.values():
            server.shutdown()
        for settings in cities.values():              # the throw-away tile caches
            shutil.rmtree(settings.data_dir, ignore_errors=True)

    print(f"\n{'city':<7}{'features':>12}{'first tile ms':>15}{'all tiles ms':>14}"
          f"{'page KB':>9}{'HTML KB':>9}")
    for name in cities:
        rows = results[name]
        print(f"{name:<7}{sizes[name]:>12,}{median(rows, 'first_tile_ms'):>15.0f}"
              f"{median(rows, 'all_tiles_ms'):>14.0f}{median(rows, 'total') / 1024:>9.1f}"
              f"{median(rows, 'html') / 1024:>9.1f}")
    for key, label in (("first_tile_ms", "time to first overlay tile"),
                       ("all_tiles_ms", "time to all tiles of the view"),
                       ("total", "page weight"), ("html", "HTML size")):
        ratio = median(results["large"], key) / median(results["small"], key)
        verdict = "OK" if ratio < 1.5 else "TOO SLOW/HEAVY"
        print(f"ratio large/small, {label}: {ratio:.2f} (target < 1.5) {verdict}")


if __name__ == "__main__":
    main()
