"""OGC API - Features Part 4 over HTTP with writes on, as the write role: create (201,
Location, ETag), replace, merge-patch update, delete; If-Match (428, 412); Content-Crs;
every refusal a JSON 4xx naming field and rule that changes nothing; 401/403 and writes
off; transactions all or nothing; tiles and ETags that follow an edit at once."""
from __future__ import annotations

import json

import mapbox_vector_tile
import pytest
import sqlalchemy as sa

from edit_support import GEOJSON, LAT0, LON0, PATCH, auth, building, create, layer_digest, made
from tiles.grid import lonlat_to_tile


@pytest.fixture
def wc(write_app):
    return write_app.test_client()


def test_create_read_patch_replace_delete(wc, edit_keys):
    resp = create(wc, edit_keys["edit"], building("WR-API-1", floors=2), **{"X-Comment": "khảo sát"})
    assert resp.status_code == 201 and resp.headers["Cache-Control"] == "no-store"
    location, etag = resp.headers["Location"], resp.headers["ETag"]
    assert location.startswith("http://localhost/collections/buildings/items/")
    got = wc.get(location, headers=auth(edit_keys["edit"]))
    assert got.status_code == 200 and got.headers["ETag"] == etag and not etag.startswith("W/")
    assert got.get_json()["properties"]["floors"] == 2
    patched = wc.patch(location, data=json.dumps({"properties": {"floors": 5, "name": "Nhà A"}}),
                       headers=auth(edit_keys["edit"], **{"Content-Type": PATCH, "If-Match": etag}))
    assert patched.status_code == 204 and patched.headers["ETag"] != etag
    feature = wc.get(location).get_json()
    assert feature["properties"]["floors"] == 5 and feature["properties"]["use"] == "residential"
    stale = wc.patch(location, data=json.dumps({"properties": {"floors": 6}}),
                     headers=auth(edit_keys["edit"], **{"Content-Type": PATCH, "If-Match": etag}))
    assert stale.status_code == 412 and stale.get_json()["code"] == "PreconditionFailed"
    etag = patched.headers["ETag"]
    put = wc.put(location, data=json.dumps(building("WR-API-1", use="office")),
                 headers=auth(edit_keys["edit"], **{"Content-Type": GEOJSON, "If-Match": etag}))
    assert put.status_code == 204
    assert wc.get(location).get_json()["properties"]["floors"] == 3        # replaced whole
    gone = wc.delete(location, headers=auth(edit_keys["edit"], **{"If-Match": put.headers["ETag"]}))
    assert gone.status_code == 204 and wc.get(location).status_code == 404


def test_content_crs_5899(wc, edit_keys):
    x, y = 553_520.0, 1_775_870.0
    ring = [[x, y], [x + 30, y], [x + 30, y + 30], [x, y + 30], [x, y]]
    feature = {**building("WR-API-5899"), "geometry": {"type": "Polygon", "coordinates": [ring]}}
    resp = create(wc, edit_keys["edit"], feature,
                  **{"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/5899>"})
    assert resp.status_code == 201
    back = wc.get(resp.headers["Location"] + "?crs=http://www.opengis.net/def/crs/EPSG/0/5899").get_json()
    first = back["geometry"]["coordinates"][0][0][0]
    assert abs(first[0] - x) < 0.05 and abs(first[1] - y) < 0.05


def _refusals(fid: int) -> list:
    bad_ring = [[LON0, LAT0], [LON0 + 0.0003, LAT0 + 0.0003], [LON0 + 0.0003, LAT0], [LON0, LAT0 + 0.0003]]
    return [
        ("post", building("WR-R1", colour="red"), {}, 400, "colour", "unknown_property"),
        ("post", building("WR-R2", floors="three"), {}, 400, "floors", "value_does_not_fit"),
        ("post", building("WR-R3", lon=106.70, lat=10.78), {}, 422, "geometry", "outside_region"),
        ("post", building("WR-R4", parcel_id=999999999), {}, 422, "parcel_id", "unknown_reference"),
        ("post", building("OGC-DUP-NEVER"), {}, 201, None, None),
        ("post", building("OGC-DUP-NEVER"), {}, 409, "building_code", "natural_key_taken"),
        ("post", {**building("WR-R6"), "geometry": {"type": "Polygon", "coordinates": [[[1, "x"]]]}},
         {}, 400, "geometry", "geometry_unreadable"),
        ("post", {**building("WR-R7"), "geometry": {"type": "Polygon", "coordinates": [bad_ring]}},
         {}, 201, None, None),           # unclosed bow-tie: closed and repaired, as an import does
        ("put", {**building("WR-R8"), "id": fid + 1}, {"If-Match": "*"}, 400, "id", "id_mismatch"),
        ("patch", {"properties": {"floors": 4}}, {}, 428, "If-Match", "if_match_required"),
        ("patch", {"properties": {"floors": 4}}, {"If-Match": '"1.abc"'}, 412, "If-Match", "stale_version"),
        ("patch", {"properties": {"floors": 4}}, {"If-Match": "*", "Content-Type": "application/json"},
         415, None, None),
        ("post", building("WR-R9"), {"Content-Crs": "<http://example.com/crs/1>"}, 400, None, None),
    ]


def test_every_refusal_is_json_and_changes_nothing(wc, edit_keys, engine):
    fid, _ = made(wc, edit_keys["edit"], "WR-REF-BASE")
    for method, body, headers, status, field, rule in _refusals(fid):
        before = layer_digest(engine, "buildings")
        url = "/collections/buildings/items" + ("" if method == "post" else f"/{fid}")
        content = GEOJSON if method in ("post", "put") else PATCH
        resp = getattr(wc, method)(url, data=json.dumps(body),
                                   headers=auth(edit_keys["edit"], **{"Content-Type": content, **headers}))
        assert resp.status_code == status, (body, resp.get_json())
        if status >= 400:
            doc = resp.get_json()
            assert set(doc) >= {"code", "description"} and "SELECT" not in doc["description"]
            assert (doc.get("field"), doc.get("rule")) == (field, rule) or field is None
            assert layer_digest(engine, "buildings") == before, body


def test_credentials_roles_and_writes_off(wc, edit_keys, client, engine):
    before = layer_digest(engine, "buildings")
    anonymous = wc.post("/collections/buildings/items", data=json.dumps(building("WR-A1")),
                        headers={"Content-Type": GEOJSON})
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert create(wc, edit_keys["read"], building("WR-A2")).status_code == 403
    off = create(client, edit_keys["edit"], building("WR-A3"))                  # the app with writes off
    assert off.status_code == 403 and off.get_json()["code"] == "WritesDisabled"
    assert layer_digest(engine, "buildings") == before


def test_transaction_permit_and_building_all_or_nothing(wc, edit_keys, engine):
    fid, etag = made(wc, edit_keys["edit"], "WR-TX-B", floors=2)
    permit = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [LON0 + 0.0001, LAT0 + 0.0001]},
              "properties": {"permit_no": "WR-TX-1/GPXD", "permit_type": "extension",
                             "issued_on": "2026-01-15", "building_id": fid, "permitted_floors": 4}}
    body = {"actions": [{"op": "create", "collection": "permits", "feature": permit},
                        {"op": "update", "collection": "buildings", "id": fid, "if_match": etag,
                         "patch": {"properties": {"floors": 4, "status": "under_construction"}}}]}
    before = layer_digest(engine, "permits"), layer_digest(engine, "buildings")
    failing = json.loads(json.dumps(body))
    failing["actions"][1]["patch"]["properties"]["floors"] = 900
    resp = wc.post("/transactions", data=json.dumps(failing),
                   headers=auth(edit_keys["edit"], **{"Content-Type": "application/json"}))
    assert resp.status_code == 422 and resp.get_json()["action"] == 1
    assert (layer_digest(engine, "permits"), layer_digest(engine, "buildings")) == before
    resp = wc.post("/transactions", data=json.dumps(body),
                   headers=auth(edit_keys["edit"], **{"Content-Type": "application/json"}))
    assert resp.status_code == 200, resp.get_json()
    results = resp.get_json()["results"]
    assert [r["op"] for r in results] == ["create", "update"]
    assert wc.get(f"/collections/buildings/items/{fid}").headers["ETag"] == results[1]["etag"]
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT building_id, permitted_floors FROM construction.permits "
                                   "WHERE permit_no = 'WR-TX-1/GPXD'")).one()
    assert tuple(row) == (fid, 4)


def test_tile_and_etags_follow_an_edit(wc, edit_keys):
    lon, lat = LON0 + 0.01, LAT0 + 0.01
    fid, etag = made(wc, edit_keys["edit"], "WR-TILE", lon=lon, lat=lat, floors=2)
    x, y = lonlat_to_tile(lon + 0.00015, lat + 0.00015, 16)
    url = f"/collections/buildings/tiles/WebMercatorQuad/16/{y}/{x}"
    first = wc.get(url)
    items = wc.get("/collections/buildings/items?limit=1")
    patched = wc.patch(f"/collections/buildings/items/{fid}", data=json.dumps({"properties": {"floors": 9}}),
                       headers=auth(edit_keys["edit"], **{"Content-Type": PATCH, "If-Match": etag}))
    assert patched.status_code == 204
    second = wc.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200 and second.headers["ETag"] != first.headers["ETag"]
    floors = {f["properties"]["building_code"]: f["properties"]["floors"]
              for f in mapbox_vector_tile.decode(second.data)["buildings"]["features"]}
    assert floors["WR-TILE"] == 9
    again = wc.get("/collections/buildings/items?limit=1", headers={"If-None-Match": items.headers["ETag"]})
    assert again.status_code == 200


def test_schema_for_the_forms(wc):
    doc = wc.get("/collections/buildings/schema").get_json()
    props = doc["properties"]["properties"]["properties"]
    assert props["use"]["enum"][0] == "residential" and props["use"]["x-title-vi"] == "Công năng"
    assert "building_code" in doc["properties"]["properties"]["required"]
    assert props["updated_at"]["readOnly"] is True and props["floors"]["type"] == ["integer", "null"]


def test_conformance_and_openapi_follow_the_switch(wc, client):
    part4 = "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete"
    assert part4 in wc.get("/conformance").get_json()["conformsTo"]
    assert part4 not in client.get("/conformance").get_json()["conformsTo"]
    paths = wc.get("/api?f=json").get_json()["paths"]
    assert {"post", "get"} <= set(paths["/collections/buildings/items"])
    assert {"put", "patch", "delete"} <= set(paths["/collections/buildings/items/{featureId}"])
    assert "post" not in client.get("/api?f=json").get_json()["paths"]["/collections/buildings/items"]


def test_audit_for_admins(wc, edit_keys):
    made(wc, edit_keys["edit"], "WR-AUD", floors=2)
    assert wc.get("/audit", headers=auth(edit_keys["edit"])).status_code == 403
    assert wc.get("/audit").status_code == 401
    page = wc.get("/audit?layer=buildings&source=api&limit=5", headers=auth(edit_keys["admin"]))
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    entries = page.get_json()["entries"]
    assert entries and all(e["layer"] == "buildings" and e["source"] == "api" for e in entries)
    assert entries[0]["actor"].startswith("wr-edit") and entries[0]["remote_addr"] == "127.0.0.1"
    assert page.get_json()["links"][0]["rel"] == "next"
    assert wc.get("/audit?since=yesterday", headers=auth(edit_keys["admin"])).status_code == 400


def test_a_boolean_field_is_written(wc, edit_keys, engine):
    """A road's `oneway` (a boolean: its cast reads yes/no words) is patched over the API
    (the write statement, compiled once per process, carried an unexpanded IN list)."""
    with engine.connect() as conn:
        fid, oneway = conn.execute(sa.text("SELECT id, oneway FROM traffic.roads ORDER BY id LIMIT 1")).one()
    url = f"/collections/roads/items/{fid}"
    etag = wc.get(url).headers["ETag"]
    patched = wc.patch(url, data=json.dumps({"properties": {"oneway": not oneway}}),
                       headers=auth(edit_keys["edit"], **{"Content-Type": PATCH, "If-Match": etag}))
    assert patched.status_code == 204, patched.get_data(as_text=True)
    assert wc.get(url).get_json()["properties"]["oneway"] is (not oneway)
    bad = wc.patch(url, data=json.dumps({"properties": {"oneway": "perhaps"}}),
                   headers=auth(edit_keys["edit"], **{"Content-Type": PATCH, "If-Match": patched.headers["ETag"]}))
    assert bad.status_code == 400 and bad.get_json()["field"] == "oneway", bad.get_json()
