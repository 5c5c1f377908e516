"""CDN-safe tiles: TileJSON, the OGC tileset documents and the map name tiles at their
layers' data version (`/tiles/v{version}/...`), served `immutable`; an edit through the
write API changes the URL, and the old URL answers a never-stored redirect to the new
one, so it never serves the new content as if it were its own. Unversioned URLs keep
their revalidation. Hostile versioned URLs are JSON 4xx that change nothing."""
from __future__ import annotations

import gzip
import json
import re
from urllib.parse import urljoin

import mapbox_vector_tile
import pytest
import sqlalchemy as sa

from edit_support import PATCH, auth, made
from tiles.grid import lonlat_to_tile

IMMUTABLE = "public, max-age=31536000, immutable"
LON, LAT = 108.226, 16.071           # a spot of central Da Nang this module edits
VERSIONED_MVT = re.compile(r"^http://localhost/tiles/v(\d+)/buildings,roads/\{z\}/\{x\}/\{y\}\.mvt$")


@pytest.fixture
def wc(write_app):
    return write_app.test_client()


def newest(engine, *tables: str) -> int:
    """The newest data version among `tables` (what their URLs must carry)."""
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT max(version) FROM meta.layer_versions "
                                    "WHERE table_name = ANY(:t)"), {"t": list(tables)}).scalar()


def all_versions(engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT table_name, version FROM meta.layer_versions")).all())


def tile_template(client, path: str) -> str:
    doc = client.get(path)
    assert doc.status_code == 200, doc.data
    return doc.get_json()["tiles"][0]


def fill(template: str, z: int, x: int, y: int) -> str:
    return template.replace("http://localhost", "").format(z=z, x=x, y=y)


def floors_in(data: bytes, code: str):
    layers = mapbox_vector_tile.decode(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    return {f["properties"]["building_code"]: f["properties"].get("floors")
            for f in layers.get("buildings", {}).get("features", [])}.get(code)


def test_tilejson_names_versioned_tiles_that_are_immutable(client, engine, sample_city):
    template = tile_template(client, "/tiles/buildings,roads.json")
    found = VERSIONED_MVT.match(template)
    assert found, template
    assert int(found[1]) == newest(engine, "construction.buildings", "traffic.roads")
    x, y = lonlat_to_tile(108.2205, 16.0680, 16)
    versioned = client.get(fill(template, 16, x, y))
    plain = client.get(f"/tiles/buildings,roads/16/{x}/{y}.mvt")
    assert versioned.status_code == plain.status_code == 200
    assert versioned.headers["Cache-Control"] == IMMUTABLE
    assert plain.headers["Cache-Control"] == "public, max-age=0, must-revalidate"   # as before
    assert versioned.data == plain.data and versioned.headers["ETag"] == plain.headers["ETag"]
    again = client.get(fill(template, 16, x, y), headers={"If-None-Match": versioned.headers["ETag"]})
    assert again.status_code == 304 and again.headers["Cache-Control"] == IMMUTABLE
    layer = tile_template(client, "/collections/roads/tiles/WebMercatorQuad/tilejson")
    assert re.search(r"/collections/roads/tiles/WebMercatorQuad/v\d+/\{z\}/\{y\}\{x\}".replace(
        r"\{y\}\{x\}", r"\{y\}/\{x\}"), layer)
    for kind in ("tiles", "map/tiles"):
        doc = client.get(f"/collections/roads/{kind}/WebMercatorQuad").get_json()
        item = next(link["href"] for link in doc["links"] if link["rel"] == "item")
        assert re.search(rf"/{kind}/WebMercatorQuad/v\d+/\{{tileMatrix\}}/", item), item


def test_versions_document_and_map_page_carry_the_versions(client, engine, sample_city):
    doc = client.get("/tiles/versions")
    assert doc.status_code == 200 and doc.headers["Cache-Control"] == "public, no-cache"
    versions = doc.get_json()["versions"]
    stored = all_versions(engine)
    assert versions["parcels"] == stored["land.parcels"]
    assert versions["roads"] == stored["traffic.roads"]
    assert client.get("/tiles/versions", headers={"If-None-Match": doc.headers["ETag"]}).status_code == 304
    html = client.get("/map").get_data(as_text=True)
    assert f"/tiles/v{versions['parcels']}/parcels/{{z}}/{{x}}/{{y}}{{r}}.png" in html
    assert "tile_versions.js" in html


def test_an_edit_changes_the_url_and_old_urls_redirect(wc, client, edit_keys, engine):
    fid, etag = made(wc, edit_keys["edit"], "WR-CDN-1", lon=LON, lat=LAT, floors=2)
    x, y = lonlat_to_tile(LON + 0.00015, LAT + 0.00015, 16)
    before = tile_template(client, "/tiles/buildings,roads.json")
    layer_before = tile_template(client, "/collections/buildings/tiles/WebMercatorQuad/tilejson")
    old_mvt, old_layer = fill(before, 16, x, y), fill(layer_before, 16, x, y)
    old_png = old_mvt.replace("/buildings,roads/", "/buildings/").replace(".mvt", "@2x.png")
    first = client.get(old_mvt)
    assert first.status_code == 200 and floors_in(first.data, "WR-CDN-1") == 2
    assert client.get(old_png).headers["Cache-Control"] == IMMUTABLE

    patched = wc.patch(f"/collections/buildings/items/{fid}", data=json.dumps({"properties": {"floors": 9}}),
                       headers=auth(edit_keys["edit"], **{"Content-Type": PATCH, "If-Match": etag}))
    assert patched.status_code == 204

    after = tile_template(client, "/tiles/buildings,roads.json")
    assert after != before
    assert int(VERSIONED_MVT.match(after)[1]) > int(VERSIONED_MVT.match(before)[1])
    assert tile_template(client, "/collections/buildings/tiles/WebMercatorQuad/tilejson") != layer_before
    new_mvt = fill(after, 16, x, y)
    for old, headers in ((old_mvt, {}), (old_mvt, {"If-None-Match": first.headers["ETag"]}),
                         (old_layer, {}), (old_png, {})):
        moved = client.get(old, headers=headers)
        assert moved.status_code == 302, (old, moved.status_code)
        assert moved.headers["Cache-Control"] == "no-store" and not moved.data
        target = urljoin("http://localhost" + old, moved.headers["Location"])
        assert "/v" + VERSIONED_MVT.match(after)[1] + "/" in target
        landed = client.get(target.removeprefix("http://localhost"))
        assert landed.status_code == 200 and landed.headers["Cache-Control"] == IMMUTABLE
    assert urljoin("http://localhost" + old_mvt, client.get(old_mvt).headers["Location"]) == (
        "http://localhost" + new_mvt)
    fresh = client.get(new_mvt)
    assert floors_in(fresh.data, "WR-CDN-1") == 9
    kept = client.get(old_mvt.replace("/buildings,roads/", "/buildings/") + "?filter=floors%20%3E%201")
    assert kept.status_code == 302 and kept.headers["Location"].endswith("?filter=floors%20%3E%201")
    assert floors_in(client.get(f"/tiles/buildings,roads/16/{x}/{y}.mvt").data, "WR-CDN-1") == 9


def test_as_of_tiles_are_named_by_their_instant(client, sample_city):
    x, y = lonlat_to_tile(108.2205, 16.0680, 16)
    for path in (f"/tiles/v1/buildings/16/{x}/{y}.mvt", f"/tiles/v1/buildings/16/{x}/{y}.png"):
        resp = client.get(path + "?as_of=2020-01-01T00:00:00Z")       # no redirect: settled
        assert resp.status_code in (200, 204) and resp.headers["Cache-Control"] == IMMUTABLE


def test_a_credential_keeps_versioned_tiles_private(wc, client, edit_keys, engine, sample_city):
    version = newest(engine, "construction.buildings")
    x, y = lonlat_to_tile(108.2205, 16.0680, 16)
    for path in (f"/tiles/v{version}/buildings/16/{x}/{y}.mvt", f"/tiles/v{version}/buildings/16/{x}/{y}.png"):
        resp = client.get(path, headers=auth(edit_keys["read"]))
        assert resp.status_code == 200 and resp.headers["Cache-Control"] == "private, no-cache"


HOSTILE = [
    ("/tiles/vx/buildings/16/1/1.mvt", 400), ("/tiles/v/buildings/16/1/1.mvt", 404),
    ("/tiles/v-3/buildings/16/1/1.mvt", 400), ("/tiles/v1234567890123456789/buildings/16/1/1.mvt", 400),
    ("/tiles/v1%27;DROP%20TABLE%20x/buildings/16/1/1.mvt", 400),
    ("/tiles/v1/nope/16/1/1.mvt", 404), ("/tiles/v1/buildings/40/1/1.mvt", 400),
    ("/tiles/v1/buildings/16/1/1.mvt?bogus=1", 400), ("/tiles/v1/buildings/16/1/1.mvt?f=png", 400),
    ("/tiles/v1/buildings/16/1/1.mvt?filter=nope%20%3D%201", 400),
    ("/tiles/v1/buildings/16/1/1.png?f=jpeg", 400), ("/tiles/v1/buildings/16/-1/1.png", 400),
    ("/tiles/v1/buildings,buildings/16/1/1.mvt", 400), ("/tiles/v1/buildings/16/1/1@9x.png", 400),
    ("/collections/buildings/tiles/Nope/v1/16/1/1", 404),
    ("/collections/buildings/tiles/WebMercatorQuad/vabc/16/1/1", 400),
    ("/collections/nope/tiles/WebMercatorQuad/v1/16/1/1", 404),
    ("/collections/buildings/map/tiles/WebMercatorQuad/v1/3/1/1.png", 404),
    ("/collections/buildings/map/tiles/WebMercatorQuad/v1.5/16/1/1.png", 400),
]


@pytest.mark.parametrize("path,status", HOSTILE)
def test_hostile_versioned_urls_are_json_4xx_and_change_nothing(client, engine, sample_city, path, status):
    before = all_versions(engine)
    resp = client.get(path)
    assert resp.status_code == status, (path, resp.status_code, resp.data[:200])
    body = resp.get_json()
    assert set(body) >= {"code", "description"} and resp.headers["Cache-Control"] == "no-store"
    text = json.dumps(body).lower()
    assert "select" not in text and "traceback" not in text and "drop table" not in text
    assert all_versions(engine) == before
