"""`gisdb serve` as shipped: the real HTTP server (Granian) in its own process, on the
test database. Checks what only a real server shows: the command starts at all with the
project's own dependencies, a long feature response streams out complete, tiles keep
their gzip Content-Encoding, errors stay JSON, the access log names path and query,
and Ctrl-C stops the server."""
from __future__ import annotations

import gzip
import json
import os
import signal
import time

import mapbox_vector_tile
import pytest
import sqlalchemy as sa

from served_app import http_get as _get
from served_app import serving
from tiles.grid import lonlat_to_tile


@pytest.fixture(scope="module")
def served(settings, sample_city, tmp_path_factory):
    """`gisdb serve --no-prepare` on a free port, two workers, access log on."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with serving(settings, log, workers=2, threads=2) as (url, proc):
        yield url, proc, log


def test_long_feature_response_streams_out_complete(served, sample_city):
    url, _, _ = served
    status, headers, body = _get(url + "/collections/buildings/items?limit=3000&f=json")
    assert status == 200, body[:300]
    page = json.loads(body)
    expected = min(3000, sample_city["buildings"])
    assert page["numberReturned"] == expected == len(page["features"])
    assert headers["Content-Type"].startswith("application/geo+json")


def test_tile_keeps_its_gzip_encoding(served, engine):
    url, _, _ = served
    with engine.connect() as conn:
        lon, lat = conn.execute(sa.text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p "
                                        "FROM construction.buildings ORDER BY id LIMIT 1) s")).one()
    x, y = lonlat_to_tile(lon, lat, 16)
    status, headers, body = _get(f"{url}/tiles/buildings/16/{x}/{y}.mvt", {"Accept-Encoding": "gzip"})
    assert status == 200, body[:300]
    assert headers.get("Content-Encoding") == "gzip"
    assert mapbox_vector_tile.decode(gzip.decompress(body))["buildings"]["features"]


def test_errors_are_json_through_the_real_server(served):
    url, _, _ = served
    status, headers, body = _get(url + "/collections/no_such_layer/items")
    assert status == 404
    assert json.loads(body)["code"] == "NotFound"
    status, _, body = _get(url + "/tiles/buildings/99/0/0.mvt")
    assert status == 400 and "description" in json.loads(body)


def test_access_log_names_path_and_query(served):
    url, _, log = served
    _get(url + "/collections/roads/items?limit=2&f=json")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if '"GET /collections/roads/items" "limit=2&f=json" 200' in text:
            return
        time.sleep(0.2)
    pytest.fail("no access log line for the request:\n" + text[-2000:])


def test_ctrl_c_stops_the_server(served):
    """Ctrl-C signals the whole foreground process group: the server stops, its workers
    within Granian's kill timeout (5 s) at the latest, and the port is free again."""
    url, proc, log = served
    for _ in range(4):          # the worker's threads and connections in use, as after a map session
        _get(url + "/collections/parcels/items?limit=500&f=json")
        _get(url + "/tiles/buildings/16/52460/29800.mvt")
    started = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(20) is not None
    assert time.monotonic() - started < 10, log.read_text(errors="replace")[-1000:]
    with pytest.raises(OSError):
        _get(url + "/healthz", timeout=2)
