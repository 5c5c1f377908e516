"""The violations overlay, the compliance line of a building's popup and the corridor
tool in a real browser (Chromium through Playwright, the sample city with its planted
irregularities, every non-local request blocked)."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from layers.planning.rules import RULES
from layers.planning.violations import refresh_violations
from layers.registry import get_layer
from map_session import view_hash
from test_map_planning_browser import TILE_PIXELS, _wait_tiles_with


@pytest.fixture(scope="module")
def violations(engine, app) -> list:
    """The violations layer refreshed over the sample city: (rule, feature, lon, lat)."""
    with engine.begin() as conn:
        refresh_violations(conn)
    t = get_layer("violations").table
    pos = sa.func.ST_PointOnSurface(t.c.geom)
    with engine.connect() as conn:
        return conn.execute(sa.select(t.c.rule_id, t.c.target_layer, t.c.feature_id,
                                      sa.func.ST_X(pos), sa.func.ST_Y(pos))
                            .order_by(t.c.rule_id, t.c.feature_id)).all()


def test_violations_overlay_has_its_legend_and_a_filter_per_rule(session, violations):
    floors = next(v for v in violations if v.rule_id == "zoning_floors")
    session.open("/map?lang=en" + view_hash(floors[3], floors[4], 16, "buildings,violations"),
                 wait_tiles_of="violations")
    session.page.click("#gisdb-toggle-layers")      # the layer list closed: the rules panel is free
    panel = session.page.locator("#gisdb-violations")
    assert panel.is_visible()
    labels = panel.locator("label[data-rule]")
    assert labels.count() == len(RULES)
    assert panel.locator('label[data-rule="zoning_floors"]').inner_text() == RULES["zoning_floors"].title_en
    legend = session.page.locator('#gisdb-legend [data-layer="violations"]').inner_text()
    assert "High" in legend
    _wait_tiles_with(session, "violations", "violations")       # every overlay tile loaded
    session.page.wait_for_timeout(500)
    everything = session.js(TILE_PIXELS, "violations")
    assert everything["drawn"] > 0
    # keep one rule that has no feature in view: the overlay's tiles are asked with the
    # filter and draw nothing
    others = [r for r in RULES if r != "zoning_floors"]
    for rule_id in RULES:
        if rule_id != others[0]:
            panel.locator(f'label[data-rule="{rule_id}"] input').uncheck()
    _wait_tiles_with(session, "violations", "filter=rule_id")
    kept = session.js(TILE_PIXELS, "violations")
    assert kept["drawn"] < everything["drawn"]
    panel.locator('label[data-rule="zoning_floors"] input').check()
    _wait_tiles_with(session, "violations", "zoning_floors")
    assert session.js(TILE_PIXELS, "violations")["drawn"] > kept["drawn"]
    assert session.errors == [] and session.external == []


def test_building_popup_says_whether_it_complies(session, violations, engine):
    floors = next(v for v in violations if v.rule_id == "zoning_floors" and v.target_layer == "buildings")
    session.open("/map?lang=vi" + view_hash(floors[3], floors[4], 19, "buildings"),
                 wait_tiles_of="buildings")
    session.click_lonlat(floors[3], floors[4])
    line = session.page.locator(f'.gisdb-feature[data-layer="buildings"][data-id="{floors[2]}"] .gisdb-compliance')
    line.wait_for(timeout=30_000)
    assert line.get_attribute("data-complies") == "false"
    assert line.locator('[data-rule="zoning_floors"]').count() == 1
    assert "tầng" in line.inner_text()
    assert session.errors == [] and session.external == []


@pytest.fixture(scope="module")
def long_road(engine, app) -> str:
    """The name of the longest street of the sample city."""
    t = get_layer("roads").table
    with engine.connect() as conn:
        return conn.execute(sa.select(t.c.name).where(t.c.name.isnot(None)).group_by(t.c.name)
                            .order_by(sa.func.sum(sa.func.ST_Length(t.c.geom)).desc()).limit(1)).scalar()


def test_corridor_tool_highlights_and_lists_the_affected_features(session, long_road, client):
    session.open("/map?lang=vi#15/16.055/108.212/parcels,buildings,roads/city", wait_tiles_of="roads")
    session.page.click("#gisdb-corridor-button")
    panel = session.page.locator("#gisdb-corridor-panel")
    panel.locator("input[name=road]").fill(long_road)
    panel.locator("input[name=width]").fill("40")
    panel.locator("button[name=run]").click()
    panel.locator('.gisdb-corridor-total[data-layer="parcels"]').wait_for(timeout=60_000)
    server = client.get("/query/impact", query_string={"road": long_road, "width": 40}).get_json()
    for layer_id in ("parcels", "buildings"):
        shown = panel.locator(f'.gisdb-corridor-total[data-layer="{layer_id}"]').get_attribute("data-count")
        assert int(shown) == server["totals"][layer_id]["count"]
    n = len(server["features"]["features"])
    assert n > 0 and session.js("gisdbMap.corridor.highlighted") == n
    assert panel.locator("tr[data-feature]").count() == min(n, 60)
    assert session.page.locator("path.leaflet-interactive").count() >= n
    assert session.errors == [] and session.external == []


def test_a_drawn_corridor_is_analysed_not_counted(session, client):
    session.open("/map?lang=en#16/16.055/108.212/parcels,buildings/city", wait_tiles_of="parcels")
    ring = [[108.2105, 16.0545], [108.2135, 16.0545], [108.2135, 16.0552], [108.2105, 16.0552],
            [108.2105, 16.0545]]
    session.js("""ring => {
        gisdbMap.corridor.drawShape('polygon');
        const poly = L.polygon(ring.map(c => [c[1], c[0]]));
        gisdbMap.map.fire('draw:created', {layer: poly, layerType: 'polygon'}); }""", ring)
    panel = session.page.locator("#gisdb-corridor-panel")
    panel.locator('.gisdb-corridor-total[data-layer="buildings"]').wait_for(timeout=60_000)
    server = client.post("/query/impact", data=json.dumps({"type": "Polygon", "coordinates": [ring]}),
                         headers={"Content-Type": "application/json"}).get_json()
    shown = panel.locator('.gisdb-corridor-total[data-layer="buildings"]').get_attribute("data-count")
    assert int(shown) == server["totals"]["buildings"]["count"] > 0
    assert session.page.locator("#gisdb-draw-panel").is_hidden()      # not also counted
    assert session.errors == [] and session.external == []


def test_a_drawn_alignment_is_widened_by_the_panel_width(session, client):
    """A line drawn with the corridor tool is sent with the panel's width; the map lists
    what the server answers for that line and width."""
    session.open("/map?lang=en#16/16.055/108.212/parcels,buildings/city", wait_tiles_of="parcels")
    line = [[108.2105, 16.0535], [108.2135, 16.0565]]
    session.page.click("#gisdb-corridor-button")
    panel = session.page.locator("#gisdb-corridor-panel")
    panel.locator("input[name=width]").fill("24")
    session.js("""line => {
        gisdbMap.corridor.drawShape('line');
        const drawn = L.polyline(line.map(c => [c[1], c[0]]));
        gisdbMap.map.fire('draw:created', {layer: drawn, layerType: 'polyline'}); }""", line)
    panel.locator('.gisdb-corridor-total[data-layer="buildings"]').wait_for(timeout=60_000)
    server = client.post("/query/impact?width=24", json={"type": "LineString", "coordinates": line}).get_json()
    for layer_id in ("parcels", "buildings"):
        shown = panel.locator(f'.gisdb-corridor-total[data-layer="{layer_id}"]').get_attribute("data-count")
        assert int(shown) == server["totals"][layer_id]["count"]
    assert server["totals"]["buildings"]["count"] > 0 and server["query"]["width_m"] == 24
    assert session.errors == [] and session.external == []
