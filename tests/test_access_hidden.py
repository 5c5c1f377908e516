"""A layer hidden from anonymous readers (`gisdb layers hide`) is absent for them
everywhere - listings, its collection, items, queryables, tiles (vector through the fast
path, PNG, TileJSON; left out of composite tiles), queries, search, the OpenAPI document,
the map's layer list - and present for a credential with read on it; the running app
follows the change without a restart (its data version)."""
from __future__ import annotations

import time

import mapbox_vector_tile
import pytest
from click.testing import CliRunner

from access_fixtures import make_key
from gisdb.access.visibility import CHECK_SECONDS
from scripts.cli import main

HIDDEN = "buildings"
TILE = "16/52467/29806"
POLYGON = {"type": "Polygon", "coordinates": [[[108.205, 16.05], [108.215, 16.05],
                                               [108.215, 16.06], [108.205, 16.06],
                                               [108.205, 16.05]]]}


def _cli(settings, *args) -> None:
    result = CliRunner().invoke(main, list(args), env={"GISDB_DATABASE_URL": settings.database_url},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def reader(engine, sample_city):
    """Headers of a key with read on construction (the hidden layer's group)."""
    return {"Authorization": "Bearer " + make_key(engine, "hidden_reader", "read", "construction")}


@pytest.fixture(scope="module")
def outsider(engine, sample_city):
    """Headers of a key with roles on traffic only."""
    return {"Authorization": "Bearer " + make_key(engine, "hidden_outsider", "edit", "traffic")}


@pytest.fixture(scope="module")
def hidden(settings, app):
    """Hide the layer while this module runs (the app was created before: it follows)."""
    client = app.test_client()
    assert HIDDEN in _ids(client.get("/collections?f=json"))
    before = client.get(f"/tiles/parcels,{HIDDEN}.json").headers["ETag"]
    _cli(settings, "layers", "hide", HIDDEN)
    time.sleep(CHECK_SECONDS + 0.1)
    yield before
    _cli(settings, "layers", "show", HIDDEN)
    time.sleep(CHECK_SECONDS + 0.1)


def _ids(resp) -> set[str]:
    return {c["id"] for c in resp.json["collections"]}


def test_listing_hides_it_from_anonymous(client, hidden, reader, outsider):
    anonymous = client.get("/collections?f=json")
    assert HIDDEN not in _ids(anonymous) and "parcels" in _ids(anonymous)
    assert "Authorization" in anonymous.headers.get("Vary", "")
    assert HIDDEN in _ids(client.get("/collections?f=json", headers=reader))
    assert HIDDEN not in _ids(client.get("/collections?f=json", headers=outsider))


@pytest.mark.parametrize("path", [
    f"/collections/{HIDDEN}", f"/collections/{HIDDEN}/items?limit=1",
    f"/collections/{HIDDEN}/items/1", f"/collections/{HIDDEN}/queryables",
    f"/collections/{HIDDEN}/tiles/WebMercatorQuad/16/29806/52467",
    f"/collections/{HIDDEN}/tiles/WebMercatorQuad/16/29806/52467?filter=floors>1",
    f"/collections/{HIDDEN}/tiles/WebMercatorQuad/tilejson",
    f"/collections/{HIDDEN}/tiles/WebMercatorQuad", f"/collections/{HIDDEN}/tiles",
    f"/collections/{HIDDEN}/map/tiles/WebMercatorQuad/16/29806/52467.png",
    f"/tiles/{HIDDEN}/{TILE}.mvt", f"/tiles/{HIDDEN}/{TILE}.png", f"/tiles/{HIDDEN}.json",
    f"/map/{HIDDEN}"])
def test_hidden_paths_are_404_for_anonymous_and_served_to_readers(client, hidden, reader,
                                                                    outsider, path):
    resp = client.get(path)
    assert resp.status_code == 404, (path, resp.status_code)
    assert resp.json["code"] == "NotFound" and HIDDEN in resp.json["description"]
    assert client.get(path, headers=outsider).status_code == 404
    assert client.get(path, headers=reader).status_code in (200, 204), path


def _tile_layers(resp) -> set[str]:
    return set(mapbox_vector_tile.decode(resp.data)) if resp.status_code == 200 else set()


def test_composite_tiles_leave_it_out(client, hidden, reader):
    path = f"/tiles/parcels,{HIDDEN},roads/{TILE}.mvt"
    anonymous = client.get(path, headers={"Accept-Encoding": "identity"})
    assert anonymous.status_code == 200
    assert HIDDEN not in _tile_layers(anonymous) and "parcels" in _tile_layers(anonymous)
    seen = client.get(path, headers={**reader, "Accept-Encoding": "identity"})
    assert HIDDEN in _tile_layers(seen)
    assert anonymous.headers["ETag"] != seen.headers["ETag"]
    tilejson = client.get(f"/tiles/parcels,{HIDDEN}.json")
    assert [v["id"] for v in tilejson.json["vector_layers"]] == ["parcels"]
    assert tilejson.headers["ETag"] != hidden
    png = client.get(f"/tiles/parcels,{HIDDEN}/{TILE}.png")
    assert png.status_code == 200


def test_queries_and_search_leave_it_out(client, hidden, reader):
    identify = client.get("/query/identify?lon=108.212&lat=16.055")
    assert identify.status_code == 200 and HIDDEN not in identify.get_data(as_text=True)
    within = client.post("/query/within", json={"geometry": POLYGON})
    assert within.status_code == 200 and HIDDEN not in within.get_data(as_text=True)
    assert HIDDEN in client.post("/query/within", json={"geometry": POLYGON},
                                 headers=reader).get_data(as_text=True)
    for path in (f"/query/stats?layer={HIDDEN}&by=ward",
                 f"/query/near?layer={HIDDEN}&lon=108.212&lat=16.055&distance=100",
                 f"/search?q=a&layers={HIDDEN}"):
        resp = client.get(path)
        assert resp.status_code in (400, 404) and set(resp.json) == {"code", "description"}
        assert client.get(path, headers=reader).status_code == 200, path
    search = client.get("/search?q=hai%20chau")
    assert all(r.get("layer") != HIDDEN for r in search.json["results"])


def test_openapi_landing_and_map_leave_it_out(client, hidden, reader):
    api = client.get("/api?f=json").get_data(as_text=True)
    assert f"/collections/{HIDDEN}" not in api and f'"{HIDDEN}"' not in api
    assert f"/collections/{HIDDEN}/items" in client.get("/api?f=json", headers=reader).get_data(
        as_text=True)
    page = client.get("/map").get_data(as_text=True)
    assert f'"id": "{HIDDEN}"' not in page and '"id": "parcels"' in page
    landing = client.get("/?f=json").get_data(as_text=True)
    assert f"/collections/{HIDDEN}" not in landing


def test_cli_refuses_an_unknown_layer(settings):
    result = CliRunner().invoke(main, ["layers", "hide", "no_such_layer"],
                                env={"GISDB_DATABASE_URL": settings.database_url})
    assert result.exit_code == 1 and "NotFound" in result.output
