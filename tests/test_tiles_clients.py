"""Real clients read our tiles: GDAL's MVT driver, MapLibre GL JS (from npm) in
Debian's headless Chromium, and archives seeded by `gisdb tiles seed` (MBTiles read by
GDAL and sqlite3, PMTiles by the pmtiles reader)."""
from __future__ import annotations

import gzip
import sqlite3
import subprocess
import threading
from dataclasses import replace
from pathlib import Path

import mapbox_vector_tile
import numpy as np
import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from clients import CHROMIUM, require
from test_tiles_mvt import LAT, LON, rows, xyz  # noqa: F401  (rows is a fixture)
from tiles.grid import Tile, count_tiles_in_bbox, tiles_in_bbox

PROJECT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
MAP_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/vendor/maplibre-gl/dist/maplibre-gl.css">
<script src="/vendor/maplibre-gl/dist/maplibre-gl.js"></script>
<style>body{margin:0} #map{width:512px;height:512px}</style></head><body><div id="map"></div>
<script>
const params = new URLSearchParams(location.search);
window.mapErrors = [];
const map = new maplibregl.Map({
  container: 'map', center: [Number(params.get('lon')), Number(params.get('lat'))],
  zoom: Number(params.get('zoom')), fadeDuration: 0, attributionControl: false,
  canvasContextAttributes: {preserveDrawingBuffer: true},
  style: {version: 8, sources: {city: {type: 'vector',
            url: location.origin + '/tiles/buildings,roads,incidents.json'}},
          layers: [
    {id: 'bg', type: 'background', paint: {'background-color': '#ffffff'}},
    {id: 'buildings', type: 'fill', source: 'city', 'source-layer': 'buildings',
     paint: {'fill-color': '#ff0000'}},
    {id: 'roads', type: 'line', source: 'city', 'source-layer': 'roads',
     paint: {'line-color': '#0000ff', 'line-width': 3}},
    {id: 'incidents', type: 'circle', source: 'city', 'source-layer': 'incidents',
     paint: {'circle-color': '#00c000', 'circle-radius': 4}}]}});
map.on('error', e => window.mapErrors.push(String(e.error && e.error.message)));
map.on('idle', () => { window.mapIdle = true; });
</script></body></html>"""


@pytest.fixture(scope="module")
def server(settings, rows, tmp_path_factory):  # noqa: F811
    """The app on a real socket (Chromium needs one), plus a page drawing the tiles."""
    from webmap.app import create_app
    app = create_app({"TESTING": True,
                      "SETTINGS": replace(settings, data_dir=tmp_path_factory.mktemp("srv"))})
    app.add_url_rule("/test-maplibre", "test_maplibre", lambda: MAP_PAGE)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    app.extensions["gisdb"].engine.dispose()
    if "gisdb.tiles" in app.extensions:
        app.extensions["gisdb.tiles"].engine.dispose()


def test_gdal_mvt_driver_reads_a_tile(tc_tile, tmp_path):
    require("ogrinfo")
    z, x, y, data = tc_tile
    path = tmp_path / "tile.pbf"
    path.write_bytes(data)
    out = subprocess.run(["ogrinfo", "-ro", "-al", "-so", "-oo", f"Z={z}", "-oo", f"X={x}",
                          "-oo", f"Y={y}", "MVT:" + str(path)],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert "Layer name: buildings" in out and "Layer name: roads" in out
    assert "Layer name: incidents" in out
    counts = [int(line.split(":")[1]) for line in out.splitlines() if line.startswith("Feature Count")]
    assert counts and min(counts) > 0
    assert "building_code: String" in out and "floors: Integer" in out
    # GDAL puts the features where they are: inside the tile's EPSG:3857 bounds
    minx, miny, maxx, maxy = Tile(z, x, y).bounds()
    extent = [line for line in out.splitlines() if line.startswith("Extent")][0]
    first_x = float(extent.split("(")[1].split(",")[0])
    assert minx - 100 <= first_x <= maxx + 100


@pytest.fixture
def tc_tile(server):
    import urllib.request
    z, x, y = xyz(16)
    with urllib.request.urlopen(f"{server}/tiles/buildings,roads,incidents/{z}/{x}/{y}.mvt") as r:
        assert r.status == 200 and r.headers.get("Content-Encoding") is None
        return z, x, y, r.read()


def _colour_counts(png: bytes) -> dict:
    import warnings

    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.io import MemoryFile
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(png) as mem, mem.open() as img:
            rgb = img.read()[:3].astype(int)
    r, g, b = rgb
    return {"red": int(((r > 200) & (g < 80) & (b < 80)).sum()),
            "blue": int(((b > 200) & (r < 80) & (g < 80)).sum()),
            "green": int(((g > 150) & (r < 80) & (b < 80)).sum()),
            "white": int(((r > 240) & (g > 240) & (b > 240)).sum())}


def test_maplibre_renders_composite_tiles_in_chromium(server):
    require("chromium", "maplibre")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 512, "height": 512})
            page.goto(f"{server}/test-maplibre?lon={LON}&lat={LAT}&zoom=16.5")
            page.wait_for_function("window.mapIdle === true || window.mapErrors.length > 0",
                                   timeout=60000)
            assert page.evaluate("window.mapErrors") == []
            counts = _colour_counts(page.locator("#map").screenshot())
            print("screenshot colours", counts)
            assert counts["red"] > 2000, counts          # building fills
            assert counts["blue"] > 200, counts          # road lines
            assert counts["green"] > 50, counts          # incident circles
            assert counts["white"] > 1000, counts        # background shows between them
        finally:
            browser.close()


def test_seed_mbtiles_and_pmtiles(settings, rows, tmp_path):  # noqa: F811
    from pmtiles.reader import MmapSource, Reader, all_tiles

    from scripts.cli import main
    bbox = (108.2985, 15.8990, 108.3020, 15.9025)          # inside the synthetic block
    expected = sum(count_tiles_in_bbox(bbox, z) for z in (14, 15, 16))
    env = {"GISDB_DATABASE_URL": settings.database_url, "GISDB_DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    box = ",".join(str(v) for v in bbox)
    for name in ("city.mbtiles", "city.pmtiles"):
        result = runner.invoke(main, ["tiles", "seed", "buildings,roads", "--zoom", "14-16",
                                      "--bbox", box, "--out", str(tmp_path / name)], env=env)
        assert result.exit_code == 0, result.output
        assert f"{expected} tiles with data" in result.output
    db = sqlite3.connect(tmp_path / "city.mbtiles")
    assert db.execute("SELECT count(*) FROM tiles").fetchone()[0] == expected
    meta = dict(db.execute("SELECT name, value FROM metadata"))
    assert meta["format"] == "pbf" and meta["minzoom"] == "14" and "vector_layers" in meta["json"]
    z, x, tms_row, blob = db.execute(
        "SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles WHERE zoom_level = 16").fetchone()
    decoded = mapbox_vector_tile.decode(gzip.decompress(blob))
    assert decoded["buildings"]["features"]
    xyz_row = (1 << z) - 1 - tms_row                       # MBTiles rows count from the south
    assert Tile(z, x, xyz_row) in set(tiles_in_bbox(bbox, 16))
    db.close()
    with open(tmp_path / "city.pmtiles", "rb") as fh:
        reader = Reader(MmapSource(fh))
        assert reader.header()["min_zoom"] == 14 and reader.header()["max_zoom"] == 16
        stored = list(all_tiles(reader.get_bytes))
        assert len(stored) == expected
        assert mapbox_vector_tile.decode(gzip.decompress(reader.get(z, x, xyz_row)))["roads"]
        assert reader.metadata()["vector_layers"][0]["id"] == "buildings"
    again = runner.invoke(main, ["tiles", "seed", "buildings", "--zoom", "14-16", "--bbox", box,
                                 "--out", str(tmp_path / "city.mbtiles")], env=env)
    assert again.exit_code != 0 and "exists" in again.output


@pytest.mark.parametrize("args, message", [
    (["nope", "--out", "x.mbtiles"], "no layer named"),
    (["roads", "--zoom", "16-10", "--out", "x.mbtiles"], "zoom range"),
    (["roads", "--bbox", "1,2,3", "--out", "x.mbtiles"], "bbox"),
    (["roads", "--out", "x.geojson"], ".mbtiles or .pmtiles"),
])
def test_seed_rejects_bad_input_clearly(settings, tmp_path, args, message):
    from scripts.cli import main
    env = {"GISDB_DATABASE_URL": settings.database_url, "GISDB_DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(main, ["tiles", "seed", *args], env=env)
    assert result.exit_code != 0 and message in result.output
    assert not list(tmp_path.glob("*.mbtiles"))


def test_numpy_colour_counter_sees_colours():
    """The screenshot check itself can fail: a white image has no drawn pixels."""
    import warnings

    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.io import MemoryFile
    white = np.full((3, 8, 8), 255, dtype=np.uint8)
    with warnings.catch_warnings(), MemoryFile() as mem:
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with mem.open(driver="PNG", width=8, height=8, count=3, dtype="uint8") as dst:
            dst.write(white)
        counts = _colour_counts(mem.read())
    assert counts["red"] == counts["blue"] == 0 and counts["white"] == 64
