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
Prints medians and the ratio large/small (target < 1.5).

The first view (`--first-view`, issue 16 point 6): `/map` as a planner opens it, with no
view in the URL (the page's own zoom, centre and default layers), cold, per visit:
- requests the page makes until the network is idle, and of them tiles;
- decoded bytes of the tiles (overlays, base map, minimap: what the browser unpacks);
- time to network idle (the last response's end, from navigation start);
- time until the map is drawn: every tile layer of the main map has its tiles of the
  view (Leaflet's `isLoading()` false on each, at least one tile shown), seen by polling
  the page every 10 ms.
`--first-view-at 14` measures the same for the map opened at z14 on Hải Châu with the
default layers (the view a planner reaches by zooming into the dense core).
The server's tile cache is on (as deployed: after the first visit, planners opening the
same view get cached tiles); `--no-tile-cache` renders every tile of every visit.
Run by hand, never in tests:

    .venv/bin/python bench/map_bench.py                   # 10k vs 1M features, at z16
    .venv/bin/python bench/map_bench.py --first-view --small-scale 1 --large-scale 35
    .venv/bin/python bench/map_bench.py --large-scale 5   # a lighter run on a busy machine
"""
from __future__ import annotations

import argparse
import logging
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

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
HAI_CHAU = (108.2208, 16.0600)       # the dense core of both cities

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


DRAWN_WATCH = """
window.__mapDrawn = null;
(function poll() {
  const app = window.gisdbMap;
  if (window.__mapDrawn === null && app && app.map && document.readyState === 'complete') {
    let layers = 0, loading = false;
    app.map.eachLayer(function (l) {
      if (l instanceof L.GridLayer) {
        if (l.isLoading()) { loading = true; }
        if (Object.keys(l._tiles || {}).length) { layers += 1; }
      }
    });
    const shown = document.querySelectorAll('#' + app.map.getContainer().id
                                            + ' img.leaflet-tile-loaded').length;
    if (!loading && layers > 0 && shown > 0) { window.__mapDrawn = performance.now(); }
  }
  if (window.__mapDrawn === null) { setTimeout(poll, 10); }
})();
"""

FIRST_VIEW_WEIGHT = """() => {
  const resources = performance.getEntriesByType('resource');
  const isTile = e => e.name.indexOf('/tiles/') >= 0 || e.name.indexOf('/rasters/') >= 0;
  const tiles = resources.filter(isTile);
  const decoded = list => list.reduce((s, e) => s + (e.decodedBodySize || 0), 0);
  const overlays = tiles.filter(e => e.name.indexOf('/tiles/base/') < 0);
  return {requests: resources.length + 1, tile_requests: tiles.length,
          overlay_requests: overlays.length,
          tile_bytes: decoded(tiles), overlay_bytes: decoded(overlays),
          idle_ms: Math.max(0, ...resources.map(e => e.responseEnd)),
          view: window.gisdbMap ? window.gisdbMap.map.getZoom() : null};
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


def cold_page(browser, url: str, script: str):
    """(context, page): `url` opened in a new context (no HTTP cache, nothing off this
    machine) with `script` run before the page's own."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        ("http://127.0.0.1", "data:")) else route.abort())
    page.add_init_script(script)
    page.goto(url, wait_until="domcontentloaded", timeout=120_000)
    return context, page


def visit(browser, url: str) -> dict:
    context, page = cold_page(browser, url, FIRST_TILE_OBSERVER)
    page.wait_for_function("window.__firstOverlayTile !== null", timeout=120_000)
    first = page.evaluate("window.__firstOverlayTile")
    # let every tile of the view finish, so no rendering spills into the next visit
    page.wait_for_load_state("networkidle", timeout=300_000)
    weight = page.evaluate(PAGE_WEIGHT)
    context.close()
    return {"first_tile_ms": first, **weight}


def first_view(browser, url: str, screenshot: Path | None = None) -> dict:
    """One cold visit of `url` (the map as a planner opens it): requests, decoded tile
    bytes, time to network idle and until the main map's tiles are drawn; the drawn
    view saved to `screenshot` (an 8-bit palette PNG for docs/) when given."""
    context, page = cold_page(browser, url, DRAWN_WATCH)
    page.wait_for_function("window.__mapDrawn !== null", timeout=300_000)
    page.wait_for_load_state("networkidle", timeout=300_000)
    found = {"drawn_ms": page.evaluate("window.__mapDrawn"), **page.evaluate(FIRST_VIEW_WEIGHT)}
    if screenshot is not None:
        from screenshots import write_palette_png
        write_palette_png(page.screenshot(), screenshot)
    context.close()
    return found


FIRST_VIEW_COLUMNS = (("requests", "requests", 1), ("tile_requests", "tiles", 1),
                      ("overlay_requests", "overlays", 1),
                      ("tile_bytes", "tile KB", 1024), ("overlay_bytes", "overlay KB", 1024),
                      ("drawn_ms", "drawn ms", 1), ("idle_ms", "idle ms", 1))


def report_first_view(results: dict[str, list[dict]], sizes: dict[str, int], path: str) -> None:
    """Medians per city and the ratios large/small of the first view."""
    print(f"\nfirst view ({path}), zoom {results['large'][0]['view']}, "
          f"{len(results['large'])} cold visits per city, medians")
    print(f"{'city':<7}{'features':>11}" + "".join(f"{label:>12}" for _, label, _ in FIRST_VIEW_COLUMNS))
    for name in ("small", "large"):
        print(f"{name:<7}{sizes[name]:>11,}" + "".join(
            f"{median(results[name], key) / unit:>12.0f}" for key, _, unit in FIRST_VIEW_COLUMNS))
    for key, label, _ in FIRST_VIEW_COLUMNS:
        small = median(results["small"], key)
        ratio = median(results["large"], key) / small if small else float("nan")
        verdict = "OK" if ratio <= 1.5 else "OVER"
        print(f"ratio large/small, {label}: {ratio:.2f} (target <= 1.5) {verdict}")


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
    parser.add_argument("--first-view", action="store_true",
                        help="measure /map as opened (its own view and layers) instead of z16 views")
    parser.add_argument("--first-view-at", type=int, metavar="ZOOM",
                        help="with --first-view: open the map at ZOOM on Hải Châu (the dense core) "
                             "with the default layers instead of the page's own view")
    parser.add_argument("--no-tile-cache", action="store_true",
                        help="every tile rendered (the first planner after an import)")
    parser.add_argument("--screenshot", type=Path,
                        help="with --first-view: save the large city's first view here (PNG)")
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
    first_path = "/map?lang=vi" if args.first_view_at is None else (
        view_url("", *HAI_CHAU, args.first_view_at))
    if args.no_tile_cache:
        cities = {name: replace(settings, tile_cache_mb=0) for name, settings in cities.items()}
    servers = {name: serve(settings) for name, settings in cities.items()}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for name, (_, url) in servers.items():       # warm each app (first import, pools)
                visit(browser, view_url(url, *points[0], args.zoom))
            for i, (lon, lat) in enumerate(points[1:]):  # alternate: same load for both
                order = list(servers) if i % 2 == 0 else list(reversed(servers))
                for name in order:
                    url = servers[name][1]
                    results[name].append(first_view(browser, url + first_path) if args.first_view
                                         else visit(browser, view_url(url, lon, lat, args.zoom)))
            if args.first_view and args.screenshot:
                first_view(browser, servers["large"][1] + first_path, args.screenshot)
            browser.close()
    finally:
        for server, _ in servers.values():
            server.shutdown()
        for settings in cities.values():              # the throw-away tile caches
            shutil.rmtree(settings.data_dir, ignore_errors=True)

    if args.first_view:
        report_first_view(results, sizes, first_path)
        return
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
