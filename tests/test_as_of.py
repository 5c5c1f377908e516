"""Time travel (`as_of`): answers about an instant agree exactly with a snapshot taken at
that instant, after edits by plain SQL and by an import; `as_of` is not `datetime`.

Snapshot at T0 (items, a single feature, identify, within, stats, decoded vector tiles,
PNG), then update a building and delete a parcel by SQL and insert a road by an import,
then ask `as_of=T0` and compare. On a database of its own (the edits never disturb the
sample city the other tests count), with the sample city at a small scale."""
from __future__ import annotations

import datetime as dt
import json
import time
from urllib.parse import parse_qs, urlsplit

import mapbox_vector_tile
import numpy as np
import pytest
import sqlalchemy as sa

from as_of_support import db_now as _now
from as_of_support import tt_app, tt_client, tt_engine, tt_settings  # noqa: F401 (fixtures)
from gisdb.importing import FieldMapping, ImportOptions
from layers.importing import import_layer
from screenshots import decode_rgb
from tiles.grid import lonlat_to_tile

Z = 16
LAYERS = "parcels,buildings,roads"
WITHIN = {"type": "Polygon", "coordinates": [[[108.205, 16.05], [108.22, 16.05], [108.22, 16.06],
                                              [108.205, 16.06], [108.205, 16.05]]]}


def _json(client, url: str, **kw) -> dict:
    r = client.get(url, **kw)
    assert r.status_code == 200, (url, r.status_code, r.get_data(as_text=True)[:300])
    return r.get_json()


def _tile_features(client, url: str) -> dict:
    """Decoded MVT features per layer, sorted by id (204: none)."""
    r = client.get(url)
    assert r.status_code in (200, 204), (url, r.status_code, r.get_data(as_text=True)[:200])
    decoded = mapbox_vector_tile.decode(r.data) if r.status_code == 200 else {}
    return {name: sorted(((f["id"], json.dumps(f["properties"], sort_keys=True),
                           json.dumps(f["geometry"], sort_keys=True)) for f in layer["features"]))
            for name, layer in decoded.items()}


def _pick(engine) -> dict:
    """A building near the centre, a parcel without permits near it, a point on the
    building; the z16 tile holding them."""
    with engine.connect() as conn:
        b = conn.execute(sa.text(
            "SELECT id, floors, ST_X(ST_PointOnSurface(geom)) x, ST_Y(ST_PointOnSurface(geom)) y "
            "FROM construction.buildings ORDER BY geom <-> ST_SetSRID(ST_MakePoint(108.212, 16.055), 4326) "
            "LIMIT 1")).one()
        p = conn.execute(sa.text(
            "SELECT id FROM land.parcels p WHERE NOT EXISTS (SELECT 1 FROM construction.permits "
            "WHERE parcel_id = p.id) ORDER BY geom <-> ST_SetSRID(ST_MakePoint(:x, :y), 4326) LIMIT 1"),
            {"x": b.x, "y": b.y}).scalar_one()
    x, y = lonlat_to_tile(b.x, b.y, Z)
    return {"building": b.id, "floors": b.floors, "parcel": p, "lon": b.x, "lat": b.y, "tile": (x, y)}


def _queries(pick: dict) -> dict[str, str]:
    lon, lat, (x, y) = pick["lon"], pick["lat"], pick["tile"]
    box = f"{lon - 0.004},{lat - 0.004},{lon + 0.004},{lat + 0.004}"
    return {
        "buildings": f"/collections/buildings/items?bbox={box}&limit=1000",
        "parcels": f"/collections/parcels/items?bbox={box}&limit=1000",
        "filtered": f"/collections/buildings/items?bbox={box}&filter=floors%20%3E%201&limit=1000",
        "building": f"/collections/buildings/items/{pick['building']}",
        "identify": f"/query/identify?lon={lon}&lat={lat}&layers=parcels,buildings",
        "stats": "/query/stats?layer=buildings&by=ward",
        "stats_parcels": "/query/stats?layer=parcels&by=ward",
        "tile": f"/tiles/{LAYERS}/{Z}/{x}/{y}.mvt",
        "collection_tile": f"/collections/buildings/tiles/WebMercatorQuad/{Z}/{y}/{x}",
        "png": f"/tiles/{LAYERS}/{Z}/{x}/{y}.png",
    }


def _answers(client, urls: dict, as_of: str | None = None) -> dict:
    """What each query answers (without links, stamps or the as_of echo)."""
    def q(url):
        return url + (("&" if "?" in url else "?") + "as_of=" + as_of if as_of else "")
    out = {}
    for name in ("buildings", "parcels", "filtered"):
        out[name] = _json(client, q(urls[name]))["features"]
    feature = client.get(q(urls["building"]))
    out["building"] = {k: v for k, v in feature.get_json().items() if k != "links"} \
        if feature.status_code == 200 else feature.status_code
    out["identify"] = [{k: v for k, v in f.items() if k != "links"}
                       for f in _json(client, q(urls["identify"]))["features"]]
    out["stats"] = _json(client, q(urls["stats"]))
    out["stats_parcels"] = _json(client, q(urls["stats_parcels"]))
    within = client.post(q("/query/within?features=1000"), json=WITHIN)
    assert within.status_code == 200, within.get_data(as_text=True)
    out["within"] = within.get_json()
    out["tile"] = _tile_features(client, q(urls["tile"]))
    out["collection_tile"] = _tile_features(client, q(urls["collection_tile"]))
    png = client.get(q(urls["png"]))
    assert png.status_code == 200 and png.data[:4] == b"\x89PNG"
    out["png"] = decode_rgb(png.data).tobytes()
    return out


def _import_road(engine, settings, tmp_path, lon: float, lat: float) -> None:
    path = tmp_path / "new_road.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"segment_code": "ASOF-1", "name": "Đường Thời Gian",
                                          "road_class": "local", "lanes": 2},
        "geometry": {"type": "LineString", "coordinates": [[lon - 0.001, lat + 0.0001],
                                                           [lon + 0.001, lat + 0.0002]]}}]}),
        encoding="utf-8")
    report = import_layer(engine, settings, "roads", path,
                          ImportOptions(mapping=FieldMapping.from_options((), ()), mode="upsert"))
    assert report.loaded == 1


@pytest.fixture(scope="module")
def scenario(tt_client, tt_engine, tt_settings, tmp_path_factory):
    """Snapshot at T0, then the edits; returns what the tests compare."""
    pick = _pick(tt_engine)
    urls = _queries(pick)
    time.sleep(0.05)
    t0 = _now(tt_engine)
    time.sleep(0.05)
    before = _answers(tt_client, urls)
    with tt_engine.begin() as conn:
        conn.execute(sa.text("UPDATE construction.buildings SET floors = floors + 7, name = 'Đã sửa', "
                             "geom = ST_Multi(ST_Buffer(ST_Centroid(geom), 0.00005, 2)) WHERE id = :i"),
                     {"i": pick["building"]})
        conn.execute(sa.text("DELETE FROM land.parcels WHERE id = :i"), {"i": pick["parcel"]})
    _import_road(tt_engine, tt_settings, tmp_path_factory.mktemp("road"), pick["lon"], pick["lat"])
    stamp = t0.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    return {"pick": pick, "urls": urls, "t0": stamp, "before": before,
            "after": _answers(tt_client, urls), "as_of": _answers(tt_client, urls, stamp)}


@pytest.mark.parametrize("name", ["buildings", "parcels", "filtered", "building", "identify", "stats",
                                  "stats_parcels", "within", "tile", "collection_tile", "png"])
def test_as_of_agrees_with_the_snapshot(scenario, name):
    """as_of=T0 answers exactly what the snapshot at T0 said, and the edits did change
    the current answer (so the comparison means something)."""
    if name == "png":
        # Mapnik paints features in the order the database gives them, and a version
        # table's rows are not in the layer table's order: where features touch, an
        # antialiased edge pixel may differ; the edits themselves change far more
        then, before, after = (np.frombuffer(scenario[k][name], np.uint8)
                               for k in ("as_of", "before", "after"))
        assert (then != before).sum() <= 40 < 20 * (then != before).sum() < (after != before).sum()
        return
    assert scenario["as_of"][name] == scenario["before"][name]
    if name not in ("stats", "stats_parcels", "within"):     # counts may not move for a swap
        assert scenario["after"][name] != scenario["before"][name]


def test_the_edits_show_now_and_not_as_of(scenario, tt_client):
    pick = scenario["pick"]
    now = _json(tt_client, scenario["urls"]["building"])
    assert now["properties"]["floors"] == pick["floors"] + 7
    then = _json(tt_client, scenario["urls"]["building"] + "?as_of=" + scenario["t0"])
    assert then["properties"]["floors"] == pick["floors"]
    gone = tt_client.get(f"/collections/parcels/items/{pick['parcel']}")
    assert gone.status_code == 404
    was = _json(tt_client, f"/collections/parcels/items/{pick['parcel']}?as_of={scenario['t0']}")
    assert was["id"] == pick["parcel"]
    roads_now = _json(tt_client, "/collections/roads/items?filter=segment_code%3D%27ASOF-1%27")
    roads_then = _json(tt_client, "/collections/roads/items?filter=segment_code%3D%27ASOF-1%27&as_of="
                       + scenario["t0"])
    assert len(roads_now["features"]) == 1 and roads_then["features"] == []


def test_as_of_now_and_future_is_current(scenario, tt_client, tt_engine):
    url = scenario["urls"]["buildings"]
    current = _json(tt_client, url)["features"]
    now = _now(tt_engine).astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    assert _json(tt_client, url + "&as_of=" + now)["features"] == current
    assert _json(tt_client, url + "&as_of=2999-01-01")["features"] == current
    tile = scenario["urls"]["tile"]
    assert _tile_features(tt_client, tile + "?as_of=" + now) == _tile_features(tt_client, tile)


def test_before_the_history_is_empty_not_an_error(scenario, tt_client):
    old = "2001-01-01T00:00:00Z"
    assert _json(tt_client, scenario["urls"]["buildings"] + "&as_of=" + old)["features"] == []
    assert tt_client.get(scenario["urls"]["tile"] + "?as_of=" + old).status_code == 204
    assert _json(tt_client, scenario["urls"]["identify"] + "&as_of=" + old)["features"] == []
    stats = _json(tt_client, "/query/stats?layer=buildings&by=ward&as_of=" + old)
    assert stats["units"] == [] and stats["total"]["count"] == 0
    assert tt_client.get(scenario["urls"]["building"] + "?as_of=" + old).status_code == 404


def test_paging_keeps_as_of(scenario, tt_client):
    page = _json(tt_client, f"/collections/buildings/items?limit=5&as_of={scenario['t0']}")
    nxt = [link["href"] for link in page["links"] if link["rel"] == "next"]
    assert nxt and "as_of=" in nxt[0]
    second = _json(tt_client, nxt[0].split("localhost", 1)[-1])
    assert len(second["features"]) == 5 and second["features"][0]["id"] > page["features"][-1]["id"]


def test_tilejson_templates_carry_as_of(scenario, tt_client):
    def as_of_of(url: str) -> list[str]:
        return parse_qs(urlsplit(url).query)["as_of"]
    doc = _json(tt_client, f"/tiles/{LAYERS}.json?as_of={scenario['t0']}")
    assert [as_of_of(url) for url in doc["tiles"]] == [[scenario["t0"]]]
    doc = _json(tt_client, "/collections/roads/tiles/WebMercatorQuad/tilejson?as_of=2020-01-01")
    assert [as_of_of(url) for url in doc["tiles"]] == [["2020-01-01T00:00:00Z"]]
    tile = doc["tiles"][0].split("localhost", 1)[-1].format(z=Z, x=scenario["pick"]["tile"][0],
                                                             y=scenario["pick"]["tile"][1])
    assert tt_client.get(tile).status_code == 204        # before the history: nothing


def test_caching_of_an_instant(scenario, tt_client):
    """A settled instant is immutable (long max-age, tagged by the instant); a recent one
    still follows the data versions."""
    settled = tt_client.get(scenario["urls"]["buildings"] + "&as_of=2020-01-01")
    assert "immutable" in settled.headers["Cache-Control"]
    again = tt_client.get(scenario["urls"]["buildings"] + "&as_of=2020-01-01",
                          headers={"If-None-Match": settled.headers["ETag"]})
    assert again.status_code == 304
    tile = tt_client.get(scenario["urls"]["tile"] + "?as_of=2020-01-01")
    assert "immutable" in tile.headers["Cache-Control"]
    recent = tt_client.get(scenario["urls"]["buildings"] + "&as_of=" + scenario["t0"])
    assert "immutable" not in recent.headers["Cache-Control"]
    png = tt_client.get(scenario["urls"]["png"] + "?as_of=2020-01-01")
    assert png.status_code == 200 and "immutable" in png.headers["Cache-Control"]


def test_ward_reform_datetime_and_as_of(scenario, tt_client, tt_engine):
    """`datetime` picks the units valid then (the data's time), `as_of` the database's
    state: rename a 2025 ward now; as of T0 it has its old name, and on 30 June 2025 it
    is not valid at all, as of any instant."""
    with tt_engine.begin() as conn:
        unit, code, name = conn.execute(sa.text(
            "UPDATE land.admin_units SET name = name || ' (mới)' WHERE id = (SELECT min(id) FROM "
            "land.admin_units WHERE valid_from = '2025-07-01') RETURNING id, code, name")).one()
    url = "/collections/admin_units/items?limit=500&code=" + code

    def names(query: str) -> dict:
        return {f["id"]: f["properties"]["name"] for f in _json(tt_client, url + query)["features"]}
    assert names("&datetime=2025-07-01")[unit] == name
    assert names("&datetime=2025-07-01&as_of=" + scenario["t0"])[unit] == name.removesuffix(" (mới)")
    assert unit not in names("&datetime=2025-06-30&as_of=" + scenario["t0"])
    assert unit not in names("&datetime=2025-06-30")
    old = _json(tt_client, "/collections/admin_units/items?limit=500&datetime=2025-06-30&as_of="
                + scenario["t0"])["features"]
    assert old and all(f["properties"]["valid_to"] == "2025-07-01" for f in old
                       if f["properties"]["level"] != "city")
    assert old == _json(tt_client, "/collections/admin_units/items?limit=500&datetime=2025-06-30")["features"]


@pytest.mark.parametrize("url", [
    "/collections/buildings/items?as_of=yesterday",
    "/collections/buildings/items?as_of=2025-13-01",
    "/collections/buildings/items?as_of=2025-01-01/2025-02-01",
    "/collections/buildings/items?as_of=0001-01-01T00:00:00Z",
    "/collections/buildings/items?as_of=2025-01-01&as_of=2025-02-01",
    "/collections/buildings/items/1?as_of=%00",
    "/query/identify?lon=108.212&lat=16.055&as_of=1e309",
    "/query/stats?layer=buildings&as_of=';DROP TABLE x",
    "/tiles/roads/16/52467/29806.mvt?as_of=garbage",
    "/collections/roads/tiles/WebMercatorQuad/16/29806/52467?as_of=2025-02-30",
    "/tiles/roads/16/52467/29806.png?as_of=nope",
    "/tiles/roads.json?as_of=nope",
    "/tiles/base/12/3263/1900.png?as_of=2025-01-01",
])
def test_bad_as_of_is_a_json_400(tt_client, tt_engine, url):
    with tt_engine.connect() as conn:
        before = conn.execute(sa.text("SELECT count(*) FROM history.changes")).scalar_one()
    r = tt_client.get(url)
    assert r.status_code == 400, (url, r.status_code)
    body = r.get_json()
    assert set(body) >= {"code", "description"} and "SELECT" not in body["description"]
    with tt_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM history.changes")).scalar_one() == before
    post = tt_client.post("/query/within?as_of=bad", json=WITHIN)
    assert post.status_code == 400


def test_timeline_for_the_time_control(scenario, tt_client):
    """The earliest recorded instant (the sample's load) lies before T0, and today's
    changes are counted (the edits: an update, a delete with its knock-on updates, an
    insert)."""
    doc = _json(tt_client, "/history/timeline")
    assert doc["earliest"] < scenario["t0"] < doc["now"]
    today = doc["days"][-1]
    assert today["date"] == doc["now"][:10] and today["changes"] >= 3
    assert tt_client.get("/history/timeline?x=1").status_code == 400


def test_png_datetime_shows_the_units_of_that_day(tt_client):
    """The compare view draws the wards before and after the reform with PNG tiles:
    `datetime` selects the units valid that day (without it, today's)."""
    x, y = lonlat_to_tile(108.212, 16.055, 12)
    base = f"/tiles/admin_units/12/{x}/{y}.png"
    before, after, today = (decode_rgb(tt_client.get(base + q).data).tobytes()
                            for q in ("?datetime=2025-06-30", "?datetime=2025-07-01", ""))
    assert after == today and before != after
    assert tt_client.get(f"/tiles/parcels/12/{x}/{y}.png?datetime=2025-06-30").status_code == 400
