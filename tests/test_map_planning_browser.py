"""The planning tools of the map in a real browser (Debian's Chromium through
Playwright, a real HTTP server on the sample city, every non-local request blocked):
the print layout (a screenshot checked for the legend and the scale bar, and the PDF
Chromium prints, checked by poppler's pdfinfo), thematic colouring, attribute filters
and transparency of a layer."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from clients import require
from layers.registry import get_layer
from map_session import view_hash
from screenshots import decode_rgb, distinct_colours, write_palette_png

OUT = Path(__file__).resolve().parent / "out"
DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGE_PTS = {("A4", "landscape"): (841.89, 595.28), ("A4", "portrait"): (595.28, 841.89),
            ("A3", "landscape"): (1190.55, 841.89), ("A3", "portrait"): (841.89, 1190.55)}


@pytest.fixture(scope="module")
def busy_spot(engine, app) -> tuple[float, float]:
    """(lon, lat) of a building with many buildings around it (its ST_PointOnSurface)."""
    t = get_layer("buildings").table
    other = t.alias("o")
    pos = sa.func.ST_PointOnSurface(t.c.geom)
    near = (sa.select(sa.func.count()).where(sa.func.ST_DWithin(other.c.geom, t.c.geom, 0.001))
            .scalar_subquery())
    with engine.connect() as conn:
        row = conn.execute(sa.select(sa.func.ST_X(pos), sa.func.ST_Y(pos))
                           .where(t.c.id % 50 == 0).order_by(near.desc()).limit(1)).one()
    return float(row[0]), float(row[1])


def _box(session, css: str) -> dict:
    return session.page.locator(css).first.bounding_box()


def _crop(rgb: np.ndarray, box: dict, origin: dict) -> np.ndarray:
    x0, y0 = int(box["x"] - origin["x"]), int(box["y"] - origin["y"])
    return rgb[:, y0:y0 + int(box["height"]), x0:x0 + int(box["width"])]


def _pdf_pages(pdf: bytes, tmp_path: Path) -> tuple[int, tuple[float, float]]:
    require("pdfinfo")
    path = tmp_path / "map.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    w, h = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", info, re.M).groups()
    return pages, (float(w), float(h))


def _assert_one_page(found: tuple[int, tuple[float, float]], paper: str, orientation: str):
    """One page of the paper's size (Chromium rounds it to whole CSS pixels: < 1 pt)."""
    pages, (w, h) = found
    want_w, want_h = PAGE_PTS[(paper, orientation)]
    assert pages == 1
    assert abs(w - want_w) < 1 and abs(h - want_h) < 1, (w, h)


def test_print_layout_has_legend_scale_bar_and_prints_one_page(session, busy_spot, tmp_path):
    lon, lat = busy_spot
    session.open("/map?lang=vi" + view_hash(lon, lat, 16, "admin_units,parcels,buildings,roads"),
                 wait_tiles_of="buildings")
    session.page.click("#gisdb-print-button")
    session.js("gisdbMap.print.enter({title: 'Khu trung tâm Hải Châu'})")
    session.wait_tiles("buildings")
    session.page.wait_for_function(      # every tile of the sheet's map drawn
        "() => document.querySelectorAll('#gisdb-print-sheet img.leaflet-tile').length > 0 && "
        "document.querySelectorAll('#gisdb-print-sheet img.leaflet-tile:not(.leaflet-tile-loaded)')"
        ".length === 0", timeout=60_000)
    session.page.wait_for_timeout(300)
    sheet = session.page.locator("#gisdb-print-sheet")
    assert sheet.is_visible()
    # no button or control on the sheet; the bar above it is not printed
    visible_controls = session.js("""() => Array.from(document.querySelectorAll(
        '#gisdb-print-sheet .leaflet-control, #gisdb-print-sheet button'))
        .filter(e => e.offsetParent !== null).length""")
    assert visible_controls == 0
    assert session.page.locator(".gisdb-print-title").inner_text() == "Khu trung tâm Hải Châu"
    assert re.search(r"\d{4}", session.page.locator(".gisdb-print-date").inner_text())
    legend_layers = session.js("""() => Array.from(document.querySelectorAll(
        '#gisdb-print-sheet .gisdb-print-legend .gisdb-legend-layer')).map(e => e.dataset.layer)""")
    assert legend_layers == ["admin_units", "parcels", "buildings", "roads"]
    assert re.fullmatch(r"[\d.,]+ k?m", session.page.locator(".gisdb-print-scalelabel").inner_text())
    assert session.page.locator(".gisdb-print-ratio").inner_text().startswith("Tỉ lệ 1:")
    assert session.page.locator(".gisdb-print-north svg").count() == 1
    assert "OpenStreetMap" in session.page.locator(".gisdb-print-source").inner_text()
    OUT.mkdir(exist_ok=True)
    png = sheet.screenshot(path=str(OUT / "print.png"))
    rgb = decode_rgb(png)
    origin = _box(session, "#gisdb-print-sheet")
    bar = _crop(rgb, _box(session, ".gisdb-print-scalebar"), origin)
    assert bar.shape[2] > 20 and (bar.max(axis=0) < 60).mean() > 0.3     # a black bar drawn
    legend = _crop(rgb, _box(session, ".gisdb-print-legend"), origin)
    assert distinct_colours_of(legend) > 15                               # the swatches
    assert distinct_colours(png)[0] > 40                                  # the map
    small = DOCS / "map_print.png" if os.environ.get("GISDB_UPDATE_SCREENSHOT") else OUT / "print-small.png"
    write_palette_png(png, small)
    pdf = session.page.pdf(prefer_css_page_size=True, print_background=True)
    _assert_one_page(_pdf_pages(pdf, tmp_path), "A4", "landscape")
    session.js("gisdbMap.print.enter({paper: 'A3', orientation: 'portrait'})")
    session.page.wait_for_timeout(500)
    pdf = session.page.pdf(prefer_css_page_size=True, print_background=True)
    _assert_one_page(_pdf_pages(pdf, tmp_path), "A3", "portrait")
    session.page.click("#gisdb-print-bar button[name=close]")
    assert session.page.locator("#gisdb-print-sheet").count() == 0
    assert session.page.locator(".leaflet-control-scale").is_visible()
    assert session.errors == [] and session.external == []


def distinct_colours_of(rgb: np.ndarray) -> int:
    packed = (rgb[0].astype(np.uint32) << 16) | (rgb[1].astype(np.uint32) << 8) | rgb[2]
    return len(np.unique(packed))


TILE_PIXELS = """id => Promise.all(Array.from(document.querySelectorAll('img.leaflet-tile-loaded'))
    .filter(img => new RegExp('/tiles/(v[0-9]+/)?' + id + '/').test(img.src))
    .map(img => new Promise(done => {
        const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data;
        let drawn = 0; const colours = new Set();
        for (let i = 0; i < d.length; i += 4) { if (d[i + 3] > 200) { drawn++; colours.add((d[i] << 16) | (d[i+1] << 8) | d[i+2]); } }
        done([drawn, Array.from(colours)]); })))
    .then(list => ({drawn: list.reduce((s, x) => s + x[0], 0),
                    colours: Array.from(new Set([].concat(...list.map(x => x[1]))))}))"""


def _wait_tiles_with(session, layer_id: str, fragment: str):
    session.page.wait_for_function(
        """([id, frag]) => { const imgs = Array.from(document.querySelectorAll('img.leaflet-tile'))
            .filter(img => new RegExp('/tiles/(v[0-9]+/)?' + id + '/').test(img.src));
            return imgs.length > 0 && imgs.every(img => img.src.indexOf(frag) >= 0
                && img.classList.contains('leaflet-tile-loaded')); }""",
        arg=[layer_id, fragment], timeout=90_000)


def test_theme_filter_and_transparency_change_what_is_drawn(session, busy_spot):
    lon, lat = busy_spot
    requests: list[str] = []
    session.page.on("request", lambda r: re.search(r"/tiles/(v\d+/)?buildings/", r.url) and requests.append(r.url))
    session.open("/map?lang=en" + view_hash(lon, lat, 17, "buildings"), wait_tiles_of="buildings")
    session.page.wait_for_timeout(500)
    plain = session.js(TILE_PIXELS, "buildings")
    session.page.click("#gisdb-toggle-style")
    panel = session.page.locator("#gisdb-style-panel")
    panel.locator("select[name=layer]").select_option("buildings")
    panel.locator("select[name=theme]").select_option("floors")
    _wait_tiles_with(session, "buildings", "theme=floors")
    themed = session.js(TILE_PIXELS, "buildings")
    assert set(themed["colours"]) != set(plain["colours"])
    legend = session.page.locator('#gisdb-legend [data-layer="buildings"]').inner_text()
    assert "Floors" in legend and "≥ 20" in legend
    # a filter built from the controls: floors >= 4, sent with the tiles, draws fewer buildings
    panel.locator("select[name=field]").select_option("floors")
    panel.locator("select[name=op]").select_option(">=")
    panel.locator("input[name=value]").fill("4")
    panel.locator("button[name=apply]").click()
    _wait_tiles_with(session, "buildings", "filter=floors%20%3E%3D%204")
    filtered = session.js(TILE_PIXELS, "buildings")
    assert 0 < filtered["drawn"] < themed["drawn"]
    assert any("filter=floors%20%3E%3D%204" in u and "theme=floors" in u for u in requests)
    assert "floors >= 4" in panel.locator(".gisdb-style-status").inner_text()
    # a value the attribute cannot take is refused in the panel, the tiles stay as they are
    panel.locator("input[name=value]").fill("four")
    panel.locator("button[name=apply]").click()
    assert "Invalid filter" in panel.locator(".gisdb-style-status").inner_text()
    # transparency: the layer's opacity follows the slider, and the screenshot changes
    before = session.page.screenshot()
    panel.locator("input[name=transparency]").fill("80")
    opacity = session.js("gisdbMap.overlays.buildings.getContainer().style.opacity")
    assert abs(float(opacity) - 0.2) < 1e-6
    session.page.wait_for_timeout(300)
    after = session.page.screenshot()
    assert (np.abs(decode_rgb(before).astype(int) - decode_rgb(after).astype(int)).sum(axis=0) > 30).mean() > 0.01
    panel.locator("button[name=clear]").click()
    _wait_tiles_with(session, "buildings", "theme=floors")
    assert session.js(TILE_PIXELS, "buildings")["drawn"] > filtered["drawn"]
    assert session.errors == [] and session.external == []


def _draw_square(session, lon: float, lat: float, half: float):
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
            [lon - half, lat + half], [lon - half, lat - half]]
    session.js("""ring => {
        const poly = L.polygon(ring.map(c => [c[1], c[0]]));
        gisdbMap.map.fire('draw:created', {layer: poly, layerType: 'polygon'}); }""", ring)
    session.page.locator("#gisdb-draw-panel table").wait_for(timeout=60_000)
    return {"type": "Polygon", "coordinates": [ring]}


def test_draw_panel_lists_breakdowns_and_the_wards_parts(session, busy_spot, client):
    lon, lat = busy_spot
    session.open("/map?lang=vi" + view_hash(lon, lat, 16, "admin_units,parcels,buildings,roads"),
                 wait_tiles_of="parcels")
    _draw_square(session, lon, lat, 0.004)
    session.page.locator("#gisdb-draw-wards").wait_for(timeout=60_000)
    result = session.js("gisdbMap.lastWithin")
    sent = session.js("gisdbMap.lastWithinBody")
    assert sent["breakdown"] is True and sent["wards"] is True
    server = client.post("/query/within", json=sent).get_json()
    assert result["wards"] == server["wards"]
    # each layer's breakdown row shows its largest categories in words (Vietnamese)
    buildings = next(r for r in server["layers"] if r["layer"] == "buildings")
    top = buildings["breakdown"][0]
    item = session.page.locator(f'tr[data-breakdown="buildings"] span[data-value="{top["value"]}"]')
    assert item.get_attribute("data-count") == str(top["count"])
    assert item.inner_text().startswith({"residential": "Nhà ở", "commercial": "Thương mại"}.get(
        top["value"], ""))
    rows = session.page.locator("#gisdb-draw-wards [data-ward]")
    assert rows.count() == len(server["wards"]) >= 1
    inside = [float(rows.nth(i).get_attribute("data-inside")) for i in range(rows.count())]
    assert inside == [w["inside_m2"] for w in server["wards"]]
    assert all(w["inside_m2"] < w["area_m2"] for w in server["wards"])
    # the export: the features inside, one CSV row each, as the counts say
    with session.page.expect_download() as download:
        session.page.click("#gisdb-draw-panel button[name=export-csv]")
    lines = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "layer,id,label,category,inside"
    assert len(lines) - 1 == sum(row["count"] for row in server["layers"])
    with session.page.expect_download() as download:
        session.page.click("#gisdb-draw-panel button[name=export-xlsx]")
    assert Path(download.value.path()).read_bytes()[:2] == b"PK"        # a zip: the workbook
    assert session.errors == [] and session.external == []
