"""A counting station's popup in the real browser (Chromium, offline): its chart of the
hourly profile and the daily trend is drawn by Chart.js served from the app, with
data in it, in Vietnamese and English, and its CSV link downloads the hourly counts."""
from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from map_session import MapSession, view_hash

HEADER = ["time", "motorbikes", "cars", "trucks", "buses", "total", "avg_speed_kmh"]


@pytest.fixture(scope="module")
def station(engine, app) -> dict:
    """A station of the sample city and its point."""
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT id, ST_X(geom), ST_Y(geom) FROM traffic.traffic_stations "
                                   "ORDER BY id LIMIT 1")).one()
    return {"id": row[0], "lon": float(row[1]), "lat": float(row[2])}


def _open_station(browser, live_url, station, lang: str) -> MapSession:  # noqa: F811
    s = MapSession(browser, live_url)
    s.context.set_default_timeout(20_000)
    s.open(f"/map?lang={lang}" + view_hash(station["lon"], station["lat"], 18, "traffic_stations"),
           wait_tiles_of="traffic_stations")
    s.click_lonlat(station["lon"], station["lat"])
    s.page.locator(f'.gisdb-feature[data-layer="traffic_stations"][data-id="{station["id"]}"] '
                   '.gisdb-station-chart[data-points]').wait_for()
    return s


def _painted(session, css: str) -> dict:
    """Points plotted by the chart on a canvas and its non-transparent pixels."""
    return session.js("""css => {
        const c = document.querySelector(css), chart = Chart.getChart(c);
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let painted = 0;
        for (let i = 3; i < px.length; i += 4) { if (px[i] > 0) { painted++; } }
        return {points: chart.data.datasets[0].data.filter(v => v > 0).length, painted: painted,
                type: chart.config.type}; }""", css)


def test_station_popup_draws_its_chart_and_downloads_csv(browser, live_url, station):  # noqa: F811
    s = _open_station(browser, live_url, station, "vi")
    try:
        profile = _painted(s, ".gisdb-station-chart-profile")
        trend = _painted(s, ".gisdb-station-chart-trend")
        assert profile["type"] == "bar" and profile["points"] == 24 and profile["painted"] > 2000
        assert trend["type"] == "line" and trend["points"] == 56 and trend["painted"] > 500
        assert s.page.locator(".gisdb-station-chart h5").first.inner_text().startswith("Lưu lượng")
        assert s.js("Array.from(document.scripts).some(x => x.src.indexOf('/vendor/chart.js/') > 0)")
        link = s.page.locator(".gisdb-station-csv")
        assert link.inner_text() == "Tải số liệu theo giờ (CSV)"
        with s.page.expect_download() as download:
            link.click()
        text = open(download.value.path(), encoding="utf-8").read()
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == HEADER and len(rows) == 1 + 8 * 168
        s.page.locator(".gisdb-lang").click()
        assert s.page.locator(".gisdb-station-csv").inner_text() == "Download hourly counts (CSV)"
        assert s.errors == [] and s.external == []
    finally:
        s.context.close()
