"""The WSGI fast path for vector tiles answers exactly what the Flask views answer (same
status, headers and bytes, errors as the same JSON), and leaves everything else to Flask."""
from __future__ import annotations

from dataclasses import replace

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Response

from test_tiles_mvt import LAT, LON, rows, xyz  # noqa: F401  (rows is a fixture)
from tiles.grid import WORLD_CRS84_QUAD
from webmap.tile_fastpath import TileFastPath


def _refuse(environ, start_response):
    raise AssertionError("the fast path handed " + environ["PATH_INFO"] + " to Flask")


@pytest.fixture(scope="module")
def clients(settings, rows, tmp_path_factory):  # noqa: F811
    from webmap.app import create_app
    own = replace(settings, data_dir=tmp_path_factory.mktemp("fastpath-data"))
    app = create_app({"TESTING": True, "SETTINGS": own})
    assert isinstance(app.wsgi_app, TileFastPath)
    flask_only = Client(app.wsgi_app.wsgi_app, Response)
    fast_only = Client(TileFastPath(app, _refuse), Response)
    yield app, flask_only, fast_only
    app.extensions["gisdb"].engine.dispose()
    if "gisdb.tiles" in app.extensions:
        app.extensions["gisdb.tiles"].engine.dispose()


def _same(flask_only, fast_only, url, headers=None):
    flask_only.get(url)                 # render and cache it first: both answers are hits
    slow = flask_only.get(url, headers=headers or {})
    fast = fast_only.get(url, headers=headers or {})
    assert fast.status_code == slow.status_code, url
    assert sorted(fast.headers.items()) == sorted(slow.headers.items()), url
    assert fast.get_data() == slow.get_data(), url
    return fast


def test_tiles_identical_to_flask_views(clients):
    _, flask_only, fast_only = clients
    composite = "/tiles/buildings,roads,incidents/%d/%d/%d.mvt" % xyz(16)
    gz = _same(flask_only, fast_only, composite, {"Accept-Encoding": "gzip, deflate"})
    assert gz.status_code == 200 and gz.headers["Content-Encoding"] == "gzip"
    assert gz.headers["X-Tile-Cache"] == "hit"
    plain = _same(flask_only, fast_only, composite)
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert plain.headers["Content-Type"] == "application/vnd.mapbox-vector-tile"
    not_modified = _same(flask_only, fast_only, composite, {"If-None-Match": gz.headers["ETag"]})
    assert not_modified.status_code == 304 and not_modified.get_data() == b""
    z, x, y = xyz(16)
    ogc = _same(flask_only, fast_only, f"/collections/buildings/tiles/WebMercatorQuad/{z}/{y}/{x}",
                {"Accept-Encoding": "gzip"})
    assert ogc.status_code == 200
    col, row = WORLD_CRS84_QUAD.tile_at(LON, LAT, 15)
    crs84 = _same(flask_only, fast_only, f"/collections/buildings/tiles/WorldCRS84Quad/15/{row}/{col}",
                  {"Accept-Encoding": "gzip"})
    assert crs84.status_code == 200 and crs84.headers["ETag"] != ogc.headers["ETag"]
    empty = _same(flask_only, fast_only, "/tiles/buildings/3/6/3.mvt")   # below its zoom range
    assert empty.status_code == 204


@pytest.mark.parametrize("url, status", [
    ("/tiles/buildings/15/abc/1.mvt", 400),
    ("/tiles/buildings/25/0/0.mvt", 400),
    ("/tiles/buildings,buildings/3/0/0.mvt", 400),
    ("/tiles/no_such_layer/3/0/0.mvt", 404),
    ("/collections/buildings/tiles/WebMercatorQuad/3/0/99", 400),
    ("/collections/buildings/tiles/WorldCRS84Quad/3/8/0", 400),
    ("/collections/buildings/tiles/WorldCRS84Quad/24/0/0", 400),
])
def test_errors_are_the_same_json(clients, url, status):
    _, flask_only, fast_only = clients
    resp = _same(flask_only, fast_only, url)
    assert resp.status_code == status
    assert resp.json["code"] and resp.json["description"]
    assert resp.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("url, status", [
    ("/tiles/roads/12/0/0.mvt?f=png", 400),                              # query strings
    ("/collections/nope/tiles/WebMercatorQuad/3/0/0", 404),               # not a layer
    ("/collections/buildings/tiles/EuropeanETRS89_LAEAQuad/3/0/0", 404),  # other TMS
    ("/collections/buildings/tiles/WebMercatorQuad", 200),                # metadata
    ("/healthz", 200),
])
def test_everything_else_goes_to_flask(clients, url, status):
    app, _, _ = clients
    with pytest.raises(AssertionError, match="handed"):
        Client(TileFastPath(app, _refuse), Response).get(url)
    assert app.test_client().get(url).status_code == status


def test_head_and_post_go_to_flask(clients):
    app, _, _ = clients
    url = "/tiles/buildings/%d/%d/%d.mvt" % xyz(16)
    with pytest.raises(AssertionError, match="handed"):
        Client(TileFastPath(app, _refuse), Response).head(url)
    assert app.test_client().post(url).status_code == 405


def test_cross_origin_clients_may_read_tiles(clients):
    """A MapLibre page of another origin (a city dashboard) reads tiles, TileJSON and
    error bodies, and may revalidate with If-None-Match after a preflight."""
    _, flask_only, fast_only = clients
    url = "/tiles/buildings,roads/%d/%d/%d.mvt" % xyz(16)
    for client in (flask_only, fast_only):
        resp = client.get(url)
        assert resp.status_code == 200
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert "ETag" in resp.headers["Access-Control-Expose-Headers"]
    assert flask_only.get("/tiles/buildings,roads.json").headers["Access-Control-Allow-Origin"] == "*"
    error = fast_only.get("/tiles/buildings/99/0/0.mvt")
    assert error.status_code == 400 and error.headers["Access-Control-Allow-Origin"] == "*"
    preflight = flask_only.options(url, headers={"Origin": "https://ioc.danang.example",
                                                 "Access-Control-Request-Method": "GET",
                                                 "Access-Control-Request-Headers": "If-None-Match"})
    assert preflight.status_code == 200
    assert "If-None-Match" in preflight.headers["Access-Control-Allow-Headers"]
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
