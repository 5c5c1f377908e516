"""The planners' map in a real browser: Debian's Chromium driven by Playwright, against a
real HTTP server on the sample city, with every request outside this machine blocked
(and recorded: none may be needed for the map to work)."""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from layers.registry import ALL_LAYERS, get_layer
from map_session import view_hash
from screenshots import distinct_colours, write_palette_png

OUT = Path(__file__).resolve().parent / "out"
DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def sample_parcel(engine, app):
    """A parcel of the sample city: id, number, and a point surely inside it."""
    t = get_layer("parcels").table
    pos = sa.func.ST_PointOnSurface(t.c.geom)
    with engine.connect() as conn:
        row = conn.execute(sa.select(t.c.id, t.c.parcel_no, sa.func.ST_X(pos), sa.func.ST_Y(pos))
                           .order_by(t.c.id).limit(1)).one()
    return {"id": row[0], "parcel_no": row[1], "lon": float(row[2]), "lat": float(row[3])}


QUIET_VIEW = "#9/16.05/108.2//city"      # no overlay at all: nothing to render


@pytest.fixture(scope="module")
def city_centre(engine, app) -> tuple[float, float]:
    """(lon, lat) of a parcel near the middle of the sample city (for the screenshot)."""
    t = get_layer("parcels").table
    extent = sa.select(sa.func.ST_SetSRID(sa.func.ST_Centroid(sa.func.ST_Extent(t.c.geom)), 4326)
                       ).scalar_subquery()
    pos = sa.func.ST_PointOnSurface(t.c.geom)
    with engine.connect() as conn:
        row = conn.execute(sa.select(sa.func.ST_X(pos), sa.func.ST_Y(pos))
                           .order_by(t.c.geom.op("<->")(extent)).limit(1)).one()
    return float(row[0]), float(row[1])


def test_map_loads_offline_without_console_errors(session, sample_parcel):
    p = sample_parcel
    session.open("/map" + view_hash(p["lon"], p["lat"], 16, "admin_units,parcels,buildings,roads"),
                 wait_tiles_of="parcels")
    session.wait_tiles("base")
    session.page.wait_for_timeout(300)
    assert session.errors == []
    assert session.external == []
    visible = session.js("gisdbMap.visibleLayers()")
    assert visible == ["admin_units", "parcels", "buildings", "roads"]
    tools = {"fullscreen": ".leaflet-control-zoom-fullscreen", "locate": ".leaflet-control-locate",
             "measure": ".leaflet-control-measure", "mini map": ".leaflet-control-minimap",
             "scale": ".leaflet-control-scale", "draw": ".leaflet-draw",
             "search": "#gisdb-search", "legend": "#gisdb-legend", "language": ".gisdb-lang"}
    missing = [name for name, css in tools.items() if session.page.locator(css).count() == 0]
    assert missing == []


def test_every_overlay_is_in_the_layer_control_and_toggles(session):
    # zoom 9: below every detailed layer's minimum zoom, so toggling renders few tiles
    session.open("/map?lang=en" + QUIET_VIEW, wait_tiles_of=None)
    for layer in ALL_LAYERS:
        box = session.page.locator(
            f'.leaflet-control-layers-overlays label:has(span[data-en="{layer.title_en}"]) input')
        assert box.count() == 1, layer.id
        before = session.js("id => gisdbMap.map.hasLayer(gisdbMap.overlays[id])", layer.id)
        box.click()
        after = session.js("id => gisdbMap.map.hasLayer(gisdbMap.overlays[id])", layer.id)
        assert after is not before
        assert (layer.id in session.js("location.hash").split("/")[3].split(",")) is not before
        box.click()
        assert session.js("id => gisdbMap.map.hasLayer(gisdbMap.overlays[id])", layer.id) is before
    assert session.errors == []


def test_clicking_a_parcel_shows_its_number(session, sample_parcel):
    p = sample_parcel
    session.open("/map?lang=vi" + view_hash(p["lon"], p["lat"], 18, "parcels"),
                 wait_tiles_of="parcels")
    session.click_lonlat(p["lon"], p["lat"])
    feature = session.page.locator(f'.gisdb-feature[data-layer="parcels"][data-id="{p["id"]}"]')
    feature.wait_for(timeout=15_000)
    assert feature.locator('tr[data-field="parcel_no"] td').inner_text() == str(p["parcel_no"])
    assert feature.locator('tr[data-field="parcel_no"] th').inner_text() == "Số thửa"
    link = feature.locator("a.gisdb-json-link")
    assert link.get_attribute("href").startswith(f"/collections/parcels/items/{p['id']}")
    assert session.errors == [] and session.external == []


def test_search_ignores_diacritics_and_zooms_to_the_ward(session):
    session.open("/map?lang=vi" + QUIET_VIEW, wait_tiles_of=None)
    session.page.fill(".gisdb-search-input", "hai chau")
    hit = session.page.locator('.gisdb-search-result[data-layer="admin_units"]',
                               has_text="Hải Châu").first
    hit.wait_for(timeout=15_000)
    before = session.js("gisdbMap.map.getCenter()")
    hit.click()
    after = session.js("[gisdbMap.map.getCenter(), gisdbMap.map.getBounds().toBBoxString()]")
    assert after[0] != before
    assert session.errors == []


def _db_counts(engine, polygon: dict, layer_ids: list[str]) -> dict[str, int]:
    """What a direct query says lies in the polygon (intersects; current admin units)."""
    shape = sa.func.ST_SetSRID(sa.func.ST_GeomFromGeoJSON(json.dumps(polygon)), 4326)
    today = dt.date.today()
    out = {}
    with engine.connect() as conn:
        for layer_id in layer_ids:
            t = get_layer(layer_id).table
            stmt = sa.select(sa.func.count()).where(sa.func.ST_Intersects(t.c.geom, shape))
            if "valid_to" in t.c:
                stmt = stmt.where(t.c.valid_from <= today,
                                  sa.or_(t.c.valid_to.is_(None), t.c.valid_to > today))
            out[layer_id] = conn.execute(stmt).scalar_one()
    return out


def _square(lon: float, lat: float, half: float) -> dict:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
            [lon - half, lat + half], [lon - half, lat - half]]
    return {"type": "Polygon", "coordinates": [ring]}


def test_drawn_polygon_counts_match_the_database(session, sample_parcel, engine):
    p = sample_parcel
    layers = "admin_units,parcels,buildings,roads"
    session.open("/map?lang=en" + view_hash(p["lon"], p["lat"], 16, layers),
                 wait_tiles_of="parcels")
    polygon = _square(p["lon"], p["lat"], 0.002)
    session.js("""ring => {
        const poly = L.polygon(ring.map(c => [c[1], c[0]]));
        gisdbMap.map.fire('draw:created', {layer: poly, layerType: 'polygon'}); }""",
               polygon["coordinates"][0])
    session.page.locator('#gisdb-draw-panel tr[data-layer="parcels"]').wait_for(timeout=20_000)
    shown = _panel_counts(session)
    expected = _db_counts(engine, polygon, layers.split(","))
    assert shown == expected
    assert expected["parcels"] > 0
    area = session.page.locator('#gisdb-draw-panel tr[data-layer="parcels"] [data-measure="area_m2"]')
    assert area.count() == 1
    assert session.errors == [] and session.external == []


def _db_within_distance(engine, geojson: dict, metres: float, layer_ids) -> dict[str, int]:
    """Features within `metres` of a geometry, on the spheroid (direct query)."""
    shape = sa.func.geography(
        sa.func.ST_SetSRID(sa.func.ST_GeomFromGeoJSON(json.dumps(geojson)), 4326))
    with engine.connect() as conn:
        return {layer_id: conn.execute(
            sa.select(sa.func.count()).where(sa.func.ST_DWithin(
                sa.func.geography(get_layer(layer_id).table.c.geom), shape, metres))).scalar_one()
            for layer_id in layer_ids}


def _panel_counts(session) -> dict[str, int]:
    rows = session.page.locator("#gisdb-draw-panel tr[data-layer]").all()
    return {row.get_attribute("data-layer"):
            int(row.locator(".gisdb-count").get_attribute("data-count")) for row in rows}


def test_drawn_circle_and_line_counts_match_the_database(session, sample_parcel, engine):
    p = sample_parcel
    layers = "parcels,buildings"
    session.open("/map?lang=en" + view_hash(p["lon"], p["lat"], 12, layers), wait_tiles_of=None)
    session.js("""([lon, lat]) => gisdbMap.map.fire('draw:created',
        {layer: L.circle([lat, lon], {radius: 150}), layerType: 'circle'})""", [p["lon"], p["lat"]])
    session.page.locator('#gisdb-draw-panel tr[data-layer="parcels"]').wait_for(timeout=20_000)
    centre = {"type": "Point", "coordinates": [p["lon"], p["lat"]]}
    expected = _db_within_distance(engine, centre, 150, layers.split(","))
    assert _panel_counts(session) == expected and expected["parcels"] > 0
    line = {"type": "LineString", "coordinates": [[p["lon"] - 0.002, p["lat"]],
                                                  [p["lon"] + 0.002, p["lat"]]]}
    session.js("""coords => gisdbMap.map.fire('draw:created',
        {layer: L.polyline(coords.map(c => [c[1], c[0]])), layerType: 'polyline'})""",
               line["coordinates"])
    session.page.wait_for_function(
        "gisdbMap.lastWithin && gisdbMap.lastWithin.query.type === 'LineString'", timeout=20_000)
    expected = _db_within_distance(engine, line, 10, layers.split(","))
    assert _panel_counts(session) == expected and expected["parcels"] > 0
    assert session.errors == [] and session.external == []


def test_language_switch_and_permalink_survive_a_reload(session, sample_parcel):
    p = sample_parcel
    # zoom 12: below these layers' minimum zoom, so no tile is rendered meanwhile
    session.open("/map?lang=vi" + view_hash(p["lon"], p["lat"], 12, "parcels,permits"),
                 wait_tiles_of=None)
    label = session.page.locator('.leaflet-control-layers-overlays span[data-en="Land parcels"]')
    assert label.inner_text() == "Thửa đất"
    session.page.click(".gisdb-lang")
    assert label.inner_text() == "Land parcels"
    assert "lang=en" in session.js("location.search")
    session.page.locator('label:has(span[data-en="Buildings"]) input').click()
    link = session.js("location.href")
    session.page.goto("about:blank")
    session.open(link.split(session.base_url, 1)[1], wait_tiles_of=None)
    assert session.js("gisdbMap.visibleLayers()") == ["parcels", "buildings", "permits"]
    assert session.js("gisdbMap.map.getZoom()") == 12
    assert session.page.locator(".leaflet-control-layers-overlays span[data-en='Land parcels']"
                                ).inner_text() == "Land parcels"


def test_online_base_maps_fall_back_to_the_offline_base(session):
    session.open("/map" + QUIET_VIEW, wait_tiles_of=None)
    osm = '.leaflet-control-layers-base label:has(span[data-en="OpenStreetMap"]) input'
    session.page.locator(osm).click()
    session.page.wait_for_function("gisdbMap.currentBase() === 'city'", timeout=15_000)
    assert any("openstreetmap" in url for url in session.external)
    assert session.page.locator("#gisdb-notice").is_visible()


def test_screenshot_shows_drawn_features(session, city_centre):
    lon, lat = city_centre
    session.open("/map?lang=vi" + view_hash(lon, lat, 16,
                                            "admin_units,parcels,buildings,roads,projects"),
                 wait_tiles_of="buildings")
    session.wait_tiles("roads")
    session.js("""ring => {
        const poly = L.polygon(ring.map(c => [c[1], c[0]]));
        gisdbMap.map.fire('draw:created', {layer: poly, layerType: 'polygon'}); }""",
               _square(lon, lat, 0.0015)["coordinates"][0])
    session.page.locator("#gisdb-draw-panel table").wait_for(timeout=20_000)
    session.page.wait_for_timeout(500)
    OUT.mkdir(exist_ok=True)
    png = session.page.screenshot(path=str(OUT / "map.png"))
    colours, drawn = distinct_colours(png)
    assert colours > 40, colours
    assert drawn > 0.2, drawn
    # The README's screenshot is refreshed only when asked (GISDB_UPDATE_SCREENSHOT=1),
    # so a test run never modifies tracked files.
    small = DOCS / "map.png" if os.environ.get("GISDB_UPDATE_SCREENSHOT") else OUT / "map-small.png"
    small.parent.mkdir(exist_ok=True)
    write_palette_png(png, small)
    assert distinct_colours(small.read_bytes())[0] > 40
    assert session.errors == [] and session.external == []


def test_a_mouse_click_on_a_search_result_opens_no_identify_popup(session):
    # Leaflet's disableClickPropagation marks the search box; choosing a result empties the
    # list, so a click that reached the map would identify at that spot (a stray popup)
    session.open("/map?lang=vi" + QUIET_VIEW, wait_tiles_of=None)
    session.page.fill(".gisdb-search-input", "hai chau")
    hit = session.page.locator('.gisdb-search-result[data-layer="admin_units"]',
                               has_text="Hải Châu").first
    hit.wait_for(timeout=15_000)
    box = hit.bounding_box()
    session.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    session.page.wait_for_function("gisdbMap.map.getZoom() > 9", timeout=10_000)
    session.page.wait_for_timeout(400)
    assert session.page.locator(".gisdb-identify").count() == 0
    assert session.js("document.querySelector('.gisdb-search-input').value").endswith("Hải Châu")
    assert session.errors == []


# English strings of Leaflet and its plugins that must not show in Vietnamese mode
PLUGIN_ENGLISH = ("Zoom in", "Zoom out", "Measure", "measurement", "Cancel", "Finish", "Delete",
                  "MiniMap", "Full screen", "Show my location", "Layers", "JavaScript library",
                  "Draw a", "Click", "Meters", "Path distance", "Area")


def _texts_and_tooltips(session) -> list[str]:
    """Every title, aria-label and placeholder on the page, and the text of the controls."""
    return session.js("""() => {
        const out = [];
        document.querySelectorAll('[title], [aria-label], [placeholder]').forEach(el => {
            for (const a of ['title', 'aria-label', 'placeholder']) {
                if (el.getAttribute(a)) { out.push(el.getAttribute(a)); } } });
        document.querySelectorAll('.leaflet-control, .leaflet-popup, .leaflet-draw-tooltip')
            .forEach(el => out.push(el.innerText));
        return out; }""")


def _coded_sample(engine, per_field: int = 1) -> list[tuple[str, float, float]]:
    """(layer id, lon, lat) of a few features per distinct value of every coded field."""
    from layers.value_labels import value_labels
    out = []
    with engine.connect() as conn:
        for layer_id, fields in value_labels().items():
            t = get_layer(layer_id).table
            pos = sa.func.ST_PointOnSurface(t.c.geom)
            for name in fields:
                ranked = sa.select(sa.func.ST_X(pos).label("x"), sa.func.ST_Y(pos).label("y"),
                                   sa.func.row_number().over(partition_by=t.c[name],
                                                             order_by=t.c.id).label("n"))
                if "valid_to" in t.c:
                    ranked = ranked.where(t.c.valid_to.is_(None))
                sub = ranked.subquery()
                rows = conn.execute(sa.select(sub.c.x, sub.c.y).where(sub.c.n <= per_field)).all()
                out.extend((layer_id, float(x), float(y)) for x, y in rows)
    return out


def test_vietnamese_mode_shows_no_english_values_or_tooltips(session, engine):
    from layers.value_labels import value_labels
    labels = value_labels()
    sample = _coded_sample(engine)
    assert {layer for layer, _, _ in sample} >= {"buildings", "permits", "parcels", "roads"}
    all_layers = ",".join(layer.id for layer in ALL_LAYERS)
    lon, lat = sample[0][1], sample[0][2]
    # zoom 9: below the detailed layers' first zoom (few tiles drawn), yet all switched on
    session.open("/map?lang=vi" + view_hash(lon, lat, 9, all_layers), wait_tiles_of=None)
    seen = []
    for layer_id, x, y in sample:
        rows = session.js("""async ([lat, lon]) => {
            await gisdbMap.identify(L.latLng(lat, lon));
            return Array.from(document.querySelectorAll('.gisdb-feature tr[data-field]')).map(tr =>
                [tr.closest('.gisdb-feature').dataset.layer, tr.dataset.field,
                 tr.querySelector('td').innerText]); }""", [y, x])
        for layer, field, text in rows:
            coded = labels.get(layer, {}).get(field)
            if coded and text != "—":
                vi_labels = {pair[0] for pair in coded.values()}
                english = {pair[1] for pair in coded.values()} | set(coded) - vi_labels
                assert text in vi_labels and text not in english, (layer, field, text)
                seen.append((layer, field))
    # the sample covered the values that were English before: residential, existing, issued
    assert {("buildings", "use"), ("buildings", "status"), ("permits", "status")} <= set(seen)
    session.page.keyboard.press("Escape")
    session.page.hover(".leaflet-control-measure")
    session.page.locator(".leaflet-control-measure .js-start").click()
    session.page.locator(".leaflet-draw-draw-polygon").click()
    session.page.mouse.move(500, 350)
    texts = _texts_and_tooltips(session)
    english = [t for t in texts if any(word in t for word in PLUGIN_ENGLISH)]
    assert english == [], english
    assert any("Chọn các điểm trên bản đồ" in t for t in texts)       # the measure prompt
    session.page.keyboard.press("Escape")
    # and back: English mode shows the plugins' own English
    session.page.click(".gisdb-lang")
    assert session.page.locator(".leaflet-control-zoom-in").get_attribute("title") == "Zoom in"
    assert session.errors == [] and session.external == []


def test_phone_layout_keeps_the_map_and_panels_open_and_close(browser, live_url):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN",
                                  is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(live_url + "/map#9/16.05/108.2/admin_units,roads/city", wait_until="domcontentloaded")
        page.wait_for_function("window.gisdbMap !== undefined")
        covered = """() => {   // share of the screen under a visible control (10 px grid)
            const rects = Array.from(document.querySelectorAll('.leaflet-control'))
                .filter(el => el.offsetParent !== null).map(el => el.getBoundingClientRect());
            let hit = 0, all = 0;
            for (let y = 5; y < innerHeight; y += 10) for (let x = 5; x < innerWidth; x += 10) {
                all += 1;
                if (rects.some(r => x >= r.left && x < r.right && y >= r.top && y < r.bottom)) hit += 1;
            }
            return hit / all; }"""
        closed = page.evaluate(covered)
        assert closed < 0.2, closed
        size = page.evaluate("[gisdbMap.map.getSize().x, gisdbMap.map.getSize().y]")
        assert size == [390, 844]
        for panel, css in (("layers", ".leaflet-control-layers"), ("legend", "#gisdb-legend")):
            assert not page.locator(css).is_visible(), panel
            page.locator("#gisdb-toggle-" + panel).tap()
            assert page.locator(css).is_visible(), panel
            box = page.locator(css).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (panel, box)
            page.locator("#gisdb-toggle-" + panel).tap()
            assert not page.locator(css).is_visible(), panel
        assert page.evaluate(covered) < 0.2
    finally:
        context.close()
