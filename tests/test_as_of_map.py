"""The map's time control in a real browser (Debian's Chromium through Playwright, like
tests/test_map_browser.py): move the slider to before an edit and the tiles ask for that
instant and identify shows the old value; the History tab lists the edit; the 2025
compare swipe draws both ward sets; the panel fits a phone's screen."""
from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa

from as_of_support import as_text, db_now, tt_app, tt_engine, tt_settings  # noqa: F401 (fixtures)
from map_session import MapSession
from served_app import in_thread


@pytest.fixture(scope="module")
def edited(tt_engine):
    """A building near the centre, the instant before its edit, and the edit (plain SQL)."""
    with tt_engine.connect() as conn:
        b = conn.execute(sa.text(
            "SELECT id, floors, ST_X(ST_PointOnSurface(geom)) x, ST_Y(ST_PointOnSurface(geom)) y "
            "FROM construction.buildings WHERE floors IS NOT NULL "
            "ORDER BY geom <-> ST_SetSRID(ST_MakePoint(108.212, 16.055), 4326) LIMIT 1")).one()
    time.sleep(0.2)
    before = db_now(tt_engine)
    time.sleep(0.2)
    with tt_engine.begin() as conn:
        conn.execute(sa.text("UPDATE construction.buildings SET floors = floors + 7 WHERE id = :i"),
                     {"i": b.id})
    return {"id": b.id, "floors": b.floors, "lon": b.x, "lat": b.y, "before": before}


@pytest.fixture(scope="module")
def live(tt_app):
    with in_thread(tt_app) as host:
        yield f"http://{host}"


def _session(browser, live, **viewport):  # noqa: F811
    s = MapSession(browser, live)
    if viewport:
        s.page.set_viewport_size(viewport)
    s.requests = []
    s.page.on("request", lambda r: s.requests.append(r.url))
    return s


def _open_time_panel(s):
    s.page.click("#gisdb-time .gisdb-time-toggle")
    s.page.wait_for_function("Number(document.getElementById('gisdb-asof-slider').min) > 0")


def _move_slider(s, ms: int):
    s.js("""ms => { const r = document.getElementById('gisdb-asof-slider');
        r.value = String(ms); r.dispatchEvent(new Event('change', {bubbles: true})); }""", ms)


def test_time_travel_history_and_compare(browser, live, edited):  # noqa: F811
    s = _session(browser, live)
    try:
        s.open(f"/map#17/{edited['lat']}/{edited['lon']}/buildings/city", wait_tiles_of="buildings")
        _open_time_panel(s)
        _move_slider(s, int(edited["before"].timestamp() * 1000))
        s.page.wait_for_function(
            "Array.from(document.querySelectorAll('img.leaflet-tile-loaded')).some(img => "
            "/\\/tiles\\/(v\\d+\\/)?buildings\\//.test(img.src) && img.src.indexOf('as_of=') >= 0)", timeout=30_000)
        asked = [u for u in s.requests if re.search(r"/tiles/(v\d+/)?buildings/", u) and "as_of=" in u]
        assert asked and all(as_text(edited["before"])[:19] in u.replace("%3A", ":") for u in asked)
        assert s.js("document.querySelector('.gisdb-time-label').textContent") != "Hiện tại"

        s.click_lonlat(edited["lon"], edited["lat"])
        cell = f".gisdb-feature[data-layer=buildings][data-id='{edited['id']}'] tr[data-field=floors] td"
        s.page.wait_for_selector(cell, timeout=15_000)
        assert s.page.inner_text(cell).strip() == str(edited["floors"])      # the old value
        assert any("/query/identify" in u and "as_of=" in u for u in s.requests)

        feature = f".gisdb-feature[data-layer=buildings][data-id='{edited['id']}']"
        s.page.click(feature + " .gisdb-history-tab")
        s.page.wait_for_selector(feature + " .gisdb-history-version", timeout=15_000)
        newest = s.page.locator(feature + " .gisdb-history-version").first
        assert newest.get_attribute("data-op") == "U"
        change = newest.locator("tr[data-field=floors] td").inner_text()
        assert change == f"{edited['floors']} → {edited['floors'] + 7}"
        assert "SQL" in newest.inner_text()

        s.page.keyboard.press("Escape")
        s.page.click("#gisdb-compare")
        for day in ("2025-06-30", "2025-07-01"):
            s.page.wait_for_function(
                "day => Array.from(document.querySelectorAll('img.leaflet-tile-loaded')).some(img => "
                "img.src.indexOf('/tiles/admin_units/') >= 0 && img.src.indexOf('datetime=' + day) >= 0 "
                "&& img.src.indexOf('as_of=') >= 0 && img.naturalWidth > 0)", arg=day, timeout=30_000)
        assert s.page.is_visible("#gisdb-swipe .gisdb-swipe-note")
        assert "datetime" in s.page.inner_text("#gisdb-swipe .gisdb-swipe-note")
        clips = s.js("[0, 1].map(i => gisdbMap.map.getPane('gisdbCompare' + i).style.clip)")
        assert all(c.startswith("rect(") for c in clips) and clips[0] != clips[1]
        s.page.click("#gisdb-time .gisdb-time-now")
        s.page.wait_for_function(
            "Array.from(document.querySelectorAll('img.leaflet-tile-loaded')).some(img => "
            "/\\/tiles\\/(v\\d+\\/)?buildings\\//.test(img.src) && img.src.indexOf('as_of=') < 0)", timeout=30_000)
        assert not s.errors and not s.external
    finally:
        s.context.close()


def test_time_panel_on_a_phone(browser, live, edited):  # noqa: F811
    s = _session(browser, live, width=390, height=740)
    try:
        s.open(f"/map?lang=en#15/{edited['lat']}/{edited['lon']}/buildings/city", wait_tiles_of=None)
        _open_time_panel(s)
        box = s.page.locator("#gisdb-time").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["y"] + box["height"] <= 740
        assert s.page.inner_text("#gisdb-time .gisdb-time-heading") == "Data as of"
        s.page.click("#gisdb-compare")
        note = s.page.locator("#gisdb-swipe .gisdb-swipe-note").bounding_box()
        assert note["x"] >= 0 and note["x"] + note["width"] <= 390
        assert not s.errors
    finally:
        s.context.close()
