"""Editing the city in the planners' map, in the real headless Chromium against the app
served with writes on (GISDB_WRITES=on): anonymous visitors see no edit control; an
editor signs in with an API key, edits a parcel's attributes in the form built from the
layer's schema (the PATCH reaches the database, the parcel's tile changes, /audit names
the key's user), sees a server's 422 beside its field and the conflict dialog after a
412, draws a new building with snapping to a parcel, and deletes it after a confirmation."""
from __future__ import annotations

import json
import math
import os
import re
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa

from access_fixtures import make_key
from layers.registry import get_layer
from layers.value_labels import value_labels
from map_session import MapSession, view_hash
from screenshots import distinct_colours, write_palette_png
from served_app import in_thread

OUT = Path(__file__).resolve().parent / "out"
DOCS = Path(__file__).resolve().parents[1] / "docs"
EDITOR = "nguyen_van_lan"


@pytest.fixture(scope="module")
def live_url(write_app):
    """The app with writes on (GISDB_WRITES=on), on a real socket."""
    with in_thread(write_app) as host:
        yield f"http://{host}"


@pytest.fixture(scope="module")
def editor_key(engine) -> str:
    return make_key(engine, EDITOR, "edit", "parcels,buildings")


@pytest.fixture(scope="module")
def admin_key(engine) -> str:
    return make_key(engine, "audit_reader", "admin")


@pytest.fixture
def session(browser, live_url):
    s = MapSession(browser, live_url)
    s.writes: list[tuple[str, str, int]] = []
    s.page.on("response", lambda r: r.request.method in ("POST", "PATCH", "PUT", "DELETE")
              and s.writes.append((r.request.method, r.url, r.status)))
    yield s
    s.context.close()


PARCEL_COLUMNS = ("land_use", "address", "area_m2", "owner_type")


@pytest.fixture
def parcel(engine):
    """A parcel in the middle of the sample city (id, a point inside it, its values);
    its attributes are put back after the test, so other tests see the sample city."""
    t = get_layer("parcels").table
    roads = get_layer("roads").table
    pos = sa.func.ST_PointOnSurface(t.c.geom)
    corner = sa.func.ST_PointN(sa.func.ST_ExteriorRing(sa.func.ST_GeometryN(t.c.geom, 1)), 1)
    # no road within 15 m of the corner the drawing test snaps to (a road's centre line
    # there would be the nearer snap target, whatever other tests left in the city)
    road_near = sa.exists().where(sa.func.ST_DWithin(sa.func.geography(roads.c.geom),
                                                     sa.func.geography(corner), 15))
    with engine.connect() as conn:
        row = conn.execute(sa.select(t.c.id, sa.func.ST_X(pos), sa.func.ST_Y(pos),
                                     *(t.c[c] for c in PARCEL_COLUMNS))
                           .where(sa.func.ST_Area(sa.func.geography(t.c.geom)) > 150, ~road_near)
                           .order_by(t.c.id).offset(40).limit(1)).one()
        geom = conn.execute(sa.select(t.c.geom).where(t.c.id == row[0])).scalar_one()
    before = dict(zip(PARCEL_COLUMNS, row[3:]))
    yield {"id": row[0], "lon": float(row[1]), "lat": float(row[2]), **before}
    with engine.begin() as conn:
        conn.execute(t.update().where(t.c.id == row[0]).values(geom=geom, **before))


def tile_path(lon: float, lat: float, zoom: int) -> str:
    """The parcels overlay's PNG tile that holds a point."""
    n = 2 ** zoom
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return f"/tiles/parcels/{zoom}/{x}/{y}.png"


def parcel_values(engine, parcel_id: int) -> dict:
    t = get_layer("parcels").table
    with engine.connect() as conn:
        row = conn.execute(sa.select(*(t.c[c] for c in PARCEL_COLUMNS)).where(t.c.id == parcel_id)).one()
    return dict(zip(PARCEL_COLUMNS, row))


def sign_in(session, key: str) -> None:
    session.page.click("#gisdb-auth .gisdb-signin")
    session.page.fill(".gisdb-signin-key", key)
    session.page.click(".gisdb-signin-submit")
    session.page.locator("#gisdb-auth .gisdb-auth-name").wait_for(timeout=15_000)


def open_parcel_form(session, parcel: dict, touch: bool = False) -> None:
    """Click (or tap) the parcel, then "Edit" in its popup; waits for the form."""
    if touch:
        session.page.touchscreen.tap(*_screen(session, parcel["lon"], parcel["lat"]))
    else:
        session.click_lonlat(parcel["lon"], parcel["lat"])
    block = session.page.locator(f'.gisdb-feature[data-layer="parcels"][data-id="{parcel["id"]}"]')
    block.locator(".gisdb-edit-open").click(timeout=15_000)
    session.page.locator('#gisdb-edit-panel .gisdb-edit-field[data-field="land_use"]').wait_for(timeout=15_000)


def field(session, name: str):
    return session.page.locator(f'#gisdb-edit-panel .gisdb-edit-field[data-field="{name}"]')


def http(method: str, url: str, key: str, body=None, headers=None):
    """(status, headers, JSON body) of a request with `key`, as another client sends it."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": "Bearer " + key, "Accept": "application/geo+json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.headers, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, json.loads(exc.read() or b"{}")


def test_anonymous_visitors_see_no_edit_control(session, parcel):
    session.open("/map" + view_hash(parcel["lon"], parcel["lat"], 18, "parcels"), wait_tiles_of="parcels")
    session.click_lonlat(parcel["lon"], parcel["lat"])
    session.page.locator(f'.gisdb-feature[data-id="{parcel["id"]}"]').wait_for(timeout=15_000)
    assert session.page.locator("#gisdb-auth .gisdb-signin").is_visible()
    assert session.page.locator(".gisdb-edit-actions, .gisdb-edit-open, .gisdb-edit-delete").count() == 0
    assert not session.page.locator("#gisdb-edit-tools").is_visible()
    assert session.js("typeof L.PM") == "undefined"          # the drawing library is not even loaded
    assert session.errors == [] and session.external == []


def test_a_wrong_key_is_refused_and_sign_out_removes_the_tools(session, parcel, editor_key):
    session.open("/map?lang=en" + view_hash(parcel["lon"], parcel["lat"], 18, "parcels"), wait_tiles_of=None)
    session.page.click("#gisdb-auth .gisdb-signin")
    session.page.fill(".gisdb-signin-key", "gdk_not-a-key")
    session.page.click(".gisdb-signin-submit")
    session.page.wait_for_function("document.querySelector('.gisdb-signin-error').textContent.length > 0")
    assert session.page.locator("#gisdb-edit-tools").is_hidden()
    session.page.fill(".gisdb-signin-key", editor_key)
    session.page.click(".gisdb-signin-submit")
    assert session.page.locator("#gisdb-auth .gisdb-auth-name").inner_text() == EDITOR
    assert session.page.locator("#gisdb-edit-tools").is_visible()
    layers = session.page.locator(".gisdb-edit-layer option").evaluate_all("os => os.map(o => o.value)")
    assert layers == ["parcels", "buildings"]
    assert session.js("sessionStorage.getItem('gisdb.apiKey')") == editor_key
    session.page.click("#gisdb-auth .gisdb-signout")
    assert session.page.locator("#gisdb-edit-tools").is_hidden()
    assert session.js("sessionStorage.getItem('gisdb.apiKey')") is None
    console = [e for e in session.errors if "401" not in e]   # the refused key's /auth/me
    assert console == [] and session.external == []


def _other_land_use(current: str) -> str:
    codes = sorted(value_labels()["parcels"]["land_use"])
    return next(c for c in codes if c != current and c in ("CLN", "TMD", "ODT", "DGT"))


def test_editing_a_parcel_saves_redraws_its_tile_and_is_audited(session, parcel, editor_key, admin_key,
                                                                 engine, live_url):
    new_use = _other_land_use(parcel["land_use"])
    tiles: dict[str, bytes] = {}

    def keep_tile(response):
        if re.search(r"/tiles/(v\d+/)?parcels/18/", response.url) and response.ok:
            try:
                tiles.setdefault(response.url, response.body())
            except Exception:         # the tab closed while the body was on its way
                pass
    session.page.on("response", keep_tile)
    session.open("/map?lang=vi" + view_hash(parcel["lon"], parcel["lat"], 18, "parcels"),
                 wait_tiles_of="parcels")
    sign_in(session, editor_key)
    open_parcel_form(session, parcel)
    select = field(session, "land_use").locator("select")
    assert select.input_value() == parcel["land_use"]
    vi_label = value_labels()["parcels"]["land_use"][new_use][0]
    assert select.locator(f'option[value="{new_use}"]').inner_text() == vi_label
    assert field(session, "parcel_no").locator("label .gisdb-required").count() == 1
    before = dict(tiles)
    select.select_option(new_use)
    session.page.click("#gisdb-edit-panel .gisdb-edit-save")
    # the popup opens again with the saved value, and the tiles come again under new URLs
    cell = session.page.locator(f'.gisdb-feature[data-id="{parcel["id"]}"] tr[data-field="land_use"] td')
    cell.filter(has_text=vi_label).wait_for(timeout=15_000)
    assert [(m, s) for m, _, s in session.writes] == [("PATCH", 204)]
    assert parcel_values(engine, parcel["id"])["land_use"] == new_use
    # the tile under the parcel was fetched again under a new URL (its layer's new data
    # version, tile_versions.js), and shows the change
    rest = tile_path(parcel["lon"], parcel["lat"], 18).removeprefix("/tiles/parcels/")
    old = [url for url in before if re.search(r"/tiles/v\d+/parcels/" + re.escape(rest) + "$", url)]
    assert old, list(before)
    for _ in range(100):
        again = [body for url, body in tiles.items() if url not in before and url.endswith("/parcels/" + rest)]
        if again:
            break
        session.page.wait_for_timeout(150)
    assert again and again[0] != before[old[0]]
    status, _, audit = http("GET", live_url + "/audit?layer=parcels&limit=50", admin_key, headers={"Accept": "application/json"})
    assert status == 200
    entries = audit.get("entries", audit.get("items", audit if isinstance(audit, list) else []))
    # the actor is the key's name (make_key names it "<user>-<random>")
    mine = [e for e in entries if e["actor"].startswith(EDITOR + "-") and e["layer"] == "parcels"
            and str(parcel["id"]) in [str(i) for i in e["feature_ids"]]]
    assert mine and mine[0]["source"] == "api"
    assert session.errors == [] and session.external == []


def test_the_form_checks_values_and_shows_the_servers_422_beside_the_field(session, parcel, editor_key,
                                                                          engine):
    session.open("/map?lang=en" + view_hash(parcel["lon"], parcel["lat"], 18, "parcels"), wait_tiles_of="parcels")
    sign_in(session, editor_key)
    open_parcel_form(session, parcel)
    area = field(session, "area_m2")
    area.locator("input").fill("twelve")
    session.page.click("#gisdb-edit-panel .gisdb-edit-save")
    assert area.locator(".gisdb-field-error").inner_text() == "Must be a number"
    assert session.writes == []                        # caught in the browser: nothing sent
    # a rule the form does not know (the schema's limit taken out of the browser's copy):
    # the server's 422 names the field, and its message is shown beside it
    session.js("""() => { const p = gisdbMap.editor.schemas.parcels.properties.properties.properties.area_m2;
        delete p.minimum; delete p.exclusiveMinimum; }""")
    session.page.click("#gisdb-edit-panel .gisdb-edit-cancel")
    open_parcel_form(session, parcel)
    area.locator("input").fill("-5")
    session.page.click("#gisdb-edit-panel .gisdb-edit-save")
    session.page.wait_for_function("document.querySelector('.gisdb-edit-field[data-field=\"area_m2\"]"
                                   " .gisdb-field-error').textContent.length > 0", timeout=15_000)
    assert [(m, s) for m, _, s in session.writes] == [("PATCH", 422)]
    assert "area_m2" in area.locator(".gisdb-field-error").inner_text()
    assert parcel_values(engine, parcel["id"])["area_m2"] == parcel["area_m2"]
    assert [e for e in session.errors if "422" not in e] == []


def test_a_conflict_shows_their_change_and_lets_the_editor_choose(session, parcel, editor_key, engine,
                                                                 live_url):
    session.open("/map?lang=vi" + view_hash(parcel["lon"], parcel["lat"], 18, "parcels"), wait_tiles_of="parcels")
    sign_in(session, editor_key)
    open_parcel_form(session, parcel)
    # someone else saves the parcel meanwhile (another client, with the ETag it read)
    item = f"{live_url}/collections/parcels/items/{parcel['id']}"
    status, headers, _ = http("GET", item, editor_key)
    assert status == 200
    theirs, mine = "Số 1 Trần Phú (bản của họ)", "Số 2 Bạch Đằng (bản của tôi)"
    status, _, _ = http("PATCH", item, editor_key, {"properties": {"address": theirs}},
                        {"If-Match": headers["ETag"], "Content-Type": "application/merge-patch+json"})
    assert status == 204
    field(session, "address").locator("input").fill(mine)
    session.page.click("#gisdb-edit-panel .gisdb-edit-save")
    dialog = session.page.locator(".gisdb-modal.gisdb-conflict")
    row = dialog.locator('tr[data-field="address"]')
    row.wait_for(timeout=15_000)
    assert row.locator(".gisdb-theirs").inner_text() == theirs
    assert row.locator(".gisdb-yours").inner_text() == mine
    assert dialog.locator('tr[data-field="land_use"]').count() == 0     # they did not change it
    OUT.mkdir(exist_ok=True)
    session.page.screenshot(path=str(OUT / "map_edit_conflict.png"))
    dialog.locator(".gisdb-modal-cancel").click()
    assert session.page.locator("#gisdb-edit-panel").is_visible()     # still open, nothing sent
    assert parcel_values(engine, parcel["id"])["address"] == theirs
    session.page.click("#gisdb-edit-panel .gisdb-edit-save")
    dialog.locator(".gisdb-modal-mine").click(timeout=15_000)
    session.page.locator("#gisdb-edit-panel").wait_for(state="hidden", timeout=15_000)
    assert parcel_values(engine, parcel["id"])["address"] == mine
    assert [s for _, _, s in session.writes] == [412, 412, 204]
    assert [e for e in session.errors if "412" not in e] == [] and session.external == []


def test_keep_theirs_drops_the_editors_change(session, parcel, editor_key, engine, live_url):
    session.open("/map?lang=en" + view_hash(parcel["lon"], parcel["lat"], 18, "parcels"), wait_tiles_of="parcels")
    sign_in(session, editor_key)
    open_parcel_form(session, parcel)
    item = f"{live_url}/collections/parcels/items/{parcel['id']}"
    _, headers, _ = http("GET", item, editor_key)
    http("PATCH", item, editor_key, {"properties": {"owner_type": "state"}},
         {"If-Match": headers["ETag"], "Content-Type": "application/merge-patch+json"})
    field(session, "address").locator("input").fill("Mine, not kept")
    session.page.click("#gisdb-edit-panel .gisdb-edit-save")
    dialog = session.page.locator(".gisdb-modal.gisdb-conflict")
    dialog.locator('tr[data-field="owner_type"]').wait_for(timeout=15_000)
    dialog.locator(".gisdb-modal-theirs").click()
    session.page.locator("#gisdb-edit-panel").wait_for(state="hidden", timeout=15_000)
    values = parcel_values(engine, parcel["id"])
    assert values["owner_type"] == "state" and values["address"] == parcel["address"]


def _parcel_corner(engine, parcel_id: int) -> tuple[float, float]:
    t = get_layer("parcels").table
    ring = sa.func.ST_ExteriorRing(sa.func.ST_GeometryN(t.c.geom, 1))
    with engine.connect() as conn:
        x, y = conn.execute(sa.select(sa.func.ST_X(sa.func.ST_PointN(ring, 1)),
                                      sa.func.ST_Y(sa.func.ST_PointN(ring, 1)))
                            .where(t.c.id == parcel_id)).one()
    return float(x), float(y)


def _screen(session, lon: float, lat: float, dx: float = 0, dy: float = 0) -> tuple[float, float]:
    x, y = session.js("""([lat, lon]) => { const p = gisdbMap.map.latLngToContainerPoint([lat, lon]);
        const r = gisdbMap.map.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }""",
                      [lat, lon])
    return x + dx, y + dy


def test_draw_a_building_snapped_to_a_parcel_then_delete_it(session, parcel, editor_key, engine):
    corner = _parcel_corner(engine, parcel["id"])
    session.open("/map?lang=vi" + view_hash(corner[0], corner[1], 19, "parcels,buildings"),
                 wait_tiles_of="parcels")
    sign_in(session, editor_key)
    session.page.locator(".gisdb-edit-layer").select_option("buildings")
    session.page.click(".gisdb-edit-draw")
    session.page.wait_for_function("gisdbMap.map.pm && gisdbMap.map.pm.Draw.getActiveShape() === 'Polygon'",
                                   timeout=15_000)
    # the first vertex 4 px off the parcel's corner: snapped onto the parcel's outline
    points = [(0, 0, 4, 3), (0, 0, 60, 0), (0, 0, 60, 50), (0, 0, 0, 50)]
    for _, _, dx, dy in points:
        session.page.mouse.move(*_screen(session, *corner, dx, dy), steps=4)
        session.page.mouse.click(*_screen(session, *corner, dx, dy))
    session.page.mouse.click(*_screen(session, *corner, 4, 3))         # back on the first: done
    field(session, "building_code").wait_for(timeout=15_000)
    code = "B-EDITMAP-TEST-1"
    field(session, "building_code").locator("input").fill(code)
    field(session, "use").locator("select").select_option("residential")
    field(session, "floors").locator("input").fill("3")
    session.page.click("#gisdb-edit-panel .gisdb-edit-save")
    session.page.locator("#gisdb-edit-panel").wait_for(state="hidden", timeout=15_000)
    assert [(m, s) for m, _, s in session.writes] == [("POST", 201)]
    b = get_layer("buildings").table
    p = get_layer("parcels").table
    with engine.connect() as conn:
        row = conn.execute(sa.select(b.c.id, b.c.floors, sa.func.ST_GeometryType(b.c.geom),
                                     sa.func.ST_NPoints(b.c.geom)).where(b.c.building_code == code)).one()
        vertices = sa.select(sa.func.ST_Points(b.c.geom)).where(b.c.building_code == code).scalar_subquery()
        outline = sa.select(sa.func.ST_Boundary(p.c.geom)).where(p.c.id == parcel["id"]).scalar_subquery()
        gap = conn.execute(sa.select(sa.func.ST_Distance(sa.func.geography(vertices),
                                                         sa.func.geography(outline)))).scalar_one()
    assert row[1] == 3 and row[2] == "ST_MultiPolygon" and row[3] == 5
    assert gap < 0.01, gap              # metres: a snapped vertex lies on the parcel's outline
    # delete it again: "Cancel" in the confirmation keeps it, "Delete" removes it
    session.page.keyboard.press("Escape")
    centre = _screen(session, *corner, 32, 25)
    session.page.mouse.click(*centre)
    block = session.page.locator(f'.gisdb-feature[data-layer="buildings"][data-id="{row[0]}"]')
    block.locator(".gisdb-edit-delete").click(timeout=15_000)
    session.page.locator(".gisdb-confirm .gisdb-modal-cancel").click()
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(b.c.id == row[0])).scalar_one() == 1
    block.locator(".gisdb-edit-delete").click()
    with session.page.expect_response(lambda r: r.request.method == "DELETE"):
        session.page.locator(".gisdb-confirm .gisdb-modal-delete").click()
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(b.c.id == row[0])).scalar_one() == 0
    assert [(m, s) for m, _, s in session.writes] == [("POST", 201), ("DELETE", 204)]
    assert session.errors == [] and session.external == []


def test_moving_a_vertex_saves_the_new_shape(session, parcel, editor_key, engine):
    session.open("/map?lang=en" + view_hash(parcel["lon"], parcel["lat"], 18, "parcels"), wait_tiles_of="parcels")
    sign_in(session, editor_key)
    open_parcel_form(session, parcel)
    session.page.click("#gisdb-edit-panel .gisdb-edit-shape-start")
    vertex = session.page.locator(".marker-icon:not(.marker-icon-middle)").first
    vertex.wait_for(timeout=15_000)
    box = vertex.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    session.page.mouse.move(x, y)
    session.page.mouse.down()
    session.page.mouse.move(x + 12, y + 9, steps=6)
    session.page.mouse.up()
    t = get_layer("parcels").table
    with engine.connect() as conn:
        old, old_points = conn.execute(sa.select(sa.func.ST_AsText(t.c.geom), sa.func.ST_NPoints(t.c.geom))
                                       .where(t.c.id == parcel["id"])).one()
    session.page.click("#gisdb-edit-panel .gisdb-edit-save")
    session.page.locator("#gisdb-edit-panel").wait_for(state="hidden", timeout=15_000)
    assert [(m, s) for m, _, s in session.writes] == [("PATCH", 204)]
    with engine.connect() as conn:
        points, kind, moved = conn.execute(sa.select(
            sa.func.ST_NPoints(t.c.geom), sa.func.ST_GeometryType(t.c.geom),
            sa.func.ST_HausdorffDistance(sa.func.ST_GeomFromText(old, 4326), t.c.geom))
            .where(t.c.id == parcel["id"])).one()
    assert kind == "ST_MultiPolygon" and points == old_points
    assert 0 < moved < 0.001        # degrees: one vertex moved a few metres, the rest stayed
    assert session.errors == [] and session.external == []


def test_screenshot_of_the_edit_form(session, parcel, editor_key):
    session.open("/map?lang=vi" + view_hash(parcel["lon"], parcel["lat"], 18, "parcels,buildings,roads"),
                 wait_tiles_of="parcels")
    session.wait_tiles("buildings")
    sign_in(session, editor_key)
    open_parcel_form(session, parcel)
    session.page.click("#gisdb-edit-panel .gisdb-edit-shape-start")
    session.page.wait_for_function("document.querySelectorAll('.marker-icon').length > 3", timeout=15_000)
    session.page.wait_for_timeout(300)
    OUT.mkdir(exist_ok=True)
    png = session.page.screenshot(path=str(OUT / "map_edit.png"))
    assert distinct_colours(png)[0] > 40
    # docs/map_edit.png is refreshed only when asked (GISDB_UPDATE_SCREENSHOT=1)
    small = DOCS / "map_edit.png" if os.environ.get("GISDB_UPDATE_SCREENSHOT") else OUT / "map_edit-small.png"
    write_palette_png(png, small)
    assert session.errors == [] and session.external == []


def test_phone_sized_edit_panel_fits_the_screen(browser, live_url, parcel, editor_key):
    s = MapSession(browser, live_url, viewport={"width": 390, "height": 844}, is_mobile=True,
                   has_touch=True)
    try:
        s.open("/map" + view_hash(parcel["lon"], parcel["lat"], 18, "parcels"), wait_tiles_of="parcels")
        s.page.locator("#gisdb-auth .gisdb-signin").tap()
        s.page.fill(".gisdb-signin-key", editor_key)
        s.page.locator(".gisdb-signin-submit").tap()
        s.page.locator("#gisdb-auth .gisdb-auth-name").wait_for(timeout=15_000)
        open_parcel_form(s, parcel, touch=True)
        box = s.page.locator("#gisdb-edit-panel").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        assert box["height"] <= 844 * 0.6
        save = s.page.locator("#gisdb-edit-panel .gisdb-edit-save")
        save.scroll_into_view_if_needed()
        assert save.is_visible()
        assert s.errors == [] and s.external == []
    finally:
        s.context.close()
