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
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import mapbox_vector_tile
import pytest
import sqlalchemy as sa

from tiles.grid import lonlat_to_tile

PROJECT = Path(__file__).resolve().parents[1]
GISDB = Path(sys.executable).with_name("gisdb")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, headers: dict | None = None, timeout: float = 60):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


@pytest.fixture(scope="module")
def served(settings, sample_city, tmp_path_factory):
    """`gisdb serve --no-prepare` on a free port, one worker, access log on."""
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = dict(os.environ, GISDB_DATABASE_URL=settings.database_url,
               GISDB_DATA_DIR=str(settings.data_dir))
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(GISDB), "serve", "--no-prepare", "--host", "127.0.0.1",
                                 "--port", str(port), "--workers", "2", "--threads", "2"],
                                cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if _get(url + "/healthz", timeout=5)[0] == 200:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("gisdb serve did not start:\n" + log.read_text(errors="replace")[-3000:])
        time.sleep(0.2)
    yield url, proc, log
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


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
