"""Hostile and odd requests, in process (Flask's test client on the real test database):
each is a JSON 4xx naming the problem and none is logged as a server error; the Host
header cannot choose the links' host; a request's statements share one deadline;
heavy request classes give way (503 + Retry-After) when their slots are taken; bodies
are bounded while they stream; PNG tiles heal at once after their connections die."""
from __future__ import annotations

import io
import json
import logging
import threading
import time
from dataclasses import replace
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from werkzeug.test import EnvironBuilder, run_wsgi_app

from gisdb import deadline
from gisdb.engine import make_engine
from gisdb.errors import QueryTimeout
from tiles.grid import lonlat_to_tile

NESTED = "[" * 10_000 + "]" * 10_000
WORLD = {"type": "Polygon", "coordinates": [[[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]]}


@pytest.fixture
def no_server_errors(caplog):
    """Fails the test if anything was logged at ERROR (how 500s are logged)."""
    caplog.set_level(logging.ERROR)
    yield
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def _json_error(resp, status: int, *words: str) -> dict:
    assert resp.status_code == status, resp.data[:300]
    body = resp.get_json()
    assert set(body) == {"code", "description"}
    for word in words:
        assert word in body["description"], body
    return body


def _app(settings, **overrides):
    from webmap.app import create_app
    return create_app({"TESTING": True, "SETTINGS": replace(settings, **overrides)})


def _dispose(app) -> None:
    for key in ("gisdb", "gisdb.tiles"):
        if key in app.extensions:
            app.extensions[key].engine.dispose()


# --- odd input: 4xx, never 500 ----------------------------------------------------------------

@pytest.mark.parametrize("path", ["/query/within", "/query/near"])
def test_deeply_nested_json_body_is_a_400(client, path, no_server_errors):
    resp = client.post(path, data=NESTED, content_type="application/json")
    _json_error(resp, 400, "nested too deeply")


def test_deeply_nested_geometry_parameter_is_a_400(client, no_server_errors):
    resp = client.get("/query/within?geometry=" + quote(NESTED))
    _json_error(resp, 400, "nested too deeply")


def test_nul_in_search_and_parameters_is_a_400(client, sample_city, no_server_errors):
    _json_error(client.get("/search?q=hai%00chau"), 400, "NUL")
    _json_error(client.get("/collections/roads/items?name=a%00b"), 400, "NUL")
    assert client.get("/search?q=hai%20chau").status_code == 200


def test_a_value_the_database_refuses_is_a_400(client, sample_city, no_server_errors):
    body = {"layer": "roads", "lon": 108.22, "lat": 16.06, "distance": 100,
            "equals": {"name": "a\u0000b"}}
    _json_error(client.post("/query/near", json=body), 400)


def test_world_polygon_has_its_area_and_is_refused_by_the_limit(client, no_server_errors):
    resp = client.post("/query/within", json={"geometry": WORLD})
    body = _json_error(resp, 400, "too large")
    assert "510,0" in body["description"]              # km² of the whole earth, not 0


@pytest.mark.parametrize("raw", ["١", "+1", "1_0", " 1 ", "1.0", "0x1", "99999999999999999999"])
def test_only_plain_ascii_digits_are_a_feature_id(client, sample_city, raw, no_server_errors):
    resp = client.get("/collections/parcels/items/" + quote(raw))
    _json_error(resp, 404, "plain digits") if raw != "99999999999999999999" else _json_error(resp, 404)


def test_plain_digit_feature_id_still_works(client, engine, sample_city):
    with engine.connect() as conn:
        fid = conn.execute(sa.text("SELECT min(id) FROM land.parcels")).scalar_one()
    assert client.get(f"/collections/parcels/items/{fid}").status_code == 200


@pytest.mark.parametrize("value", ["١", "+5", "1_0", " 5 "])
def test_query_integers_are_plain_digits(client, sample_city, value, no_server_errors):
    _json_error(client.get("/search?q=hai&limit=" + quote(value)), 400, "integer")


# --- Host -------------------------------------------------------------------------------------

def test_untrusted_host_is_a_400_json(client, sample_city):
    resp = client.get("/collections/roads/items?limit=1", headers={"Host": "evil.example"})
    assert _json_error(resp, 400, "Host")["code"] == "UntrustedHost"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    ok = client.get("/collections/roads/items?limit=1")                 # Host: localhost
    assert ok.status_code == 200
    assert all(link["href"].startswith("http://localhost/") for link in ok.get_json()["links"])


@pytest.mark.parametrize("host", ["localhost:80@evil.example", "localhost:evil.example",
                                  "[::1]evil.example", "127.0.0.1:5000/x"])
def test_a_trusted_name_with_something_else_after_it_is_untrusted(client, sample_city, host):
    resp = client.get("/collections/roads/items?limit=1", headers={"Host": host})
    assert _json_error(resp, 400, "Host")["code"] == "UntrustedHost"


def test_near_is_a_heavy_request():
    from webmap.request_budget import is_heavy
    assert is_heavy("/query/near", "layer=roads&lon=108.2&lat=16.0")
    assert is_heavy("/query/within", "") and is_heavy("/query/stats", "layer=parcels")
    assert not is_heavy("/query/identify", "lon=108.2&lat=16.0")


def test_trusted_hosts_give_their_own_links_and_etags(settings, sample_city):
    app = _app(settings, trusted_hosts=("gis.danang.gov.vn",))
    try:
        client = app.test_client()
        a = client.get("/collections/roads/items?limit=1", headers={"Host": "gis.danang.gov.vn"})
        b = client.get("/collections/roads/items?limit=1", headers={"Host": "127.0.0.1:5000"})
        assert a.status_code == b.status_code == 200
        assert a.get_json()["links"][0]["href"].startswith("http://gis.danang.gov.vn/collections/")
        assert a.headers["ETag"] != b.headers["ETag"]                   # the host is in the key
        evil = client.get("/collections/roads/items?limit=1", headers={"Host": "evil.example"})
        assert evil.status_code == 400
    finally:
        _dispose(app)


def test_public_url_makes_every_link_whatever_the_host(settings, sample_city):
    app = _app(settings, public_url="https://gis.danang.gov.vn/api")
    try:
        client = app.test_client()
        resp = client.get("/collections/roads/items?limit=1", headers={"Host": "evil.example"})
        assert resp.status_code == 200
        hrefs = [link["href"] for link in resp.get_json()["links"]]
        assert hrefs and all(h.startswith("https://gis.danang.gov.vn/api/collections/roads/items")
                             for h in hrefs)
        assert client.get("/", headers={"Host": "evil.example"}).get_json()["links"][0][
            "href"].startswith("https://gis.danang.gov.vn/api/")
    finally:
        _dispose(app)


# --- body limit -------------------------------------------------------------------------------

def test_chunked_body_over_the_limit_is_a_413_before_it_is_read_whole(app):
    """A body without Content-Length (chunked, `wsgi.input_terminated`) is read through
    the counting input: 413 after limit + one read, not after the whole stream."""
    limit = app.extensions["gisdb"].settings.max_body_bytes
    stream = io.BytesIO(b"[" * (limit * 20))
    environ = EnvironBuilder(path="/query/within", method="POST", input_stream=stream,
                             content_type="application/json").get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True
    body, status, headers = run_wsgi_app(app.wsgi_app, environ, buffered=True)
    assert status.startswith("413")
    assert json.loads(b"".join(body))["code"] == "PayloadTooLarge"
    assert stream.tell() <= limit + 64 * 1024 + 1


def test_declared_length_over_the_limit_is_a_413(client):
    resp = client.post("/query/within", data=b"{" + b" " * 2_000_000 + b"}",
                       content_type="application/json")
    assert _json_error(resp, 413)["code"] == "PayloadTooLarge"


# --- deadline and heavy slots -----------------------------------------------------------------

def test_statements_share_the_request_deadline(settings):
    """Two statements of 0.4 s with 0.6 s left: the second is cut by the lowered
    statement timeout (the engine's own is 10 s); past the deadline none starts."""
    engine = make_engine(settings, timeout_ms=10_000)
    deadline.bound_statements(engine, 10_000)
    try:
        with engine.connect() as conn:
            deadline.SLACK_MS, slack = 100, deadline.SLACK_MS
            deadline.start(600)
            try:
                conn.execute(sa.text("SELECT pg_sleep(0.4)"))
                started = time.monotonic()
                with pytest.raises(sa.exc.OperationalError) as info:
                    conn.execute(sa.text("SELECT pg_sleep(0.4)"))
                assert "statement timeout" in str(info.value)
                assert time.monotonic() - started < 0.35
                conn.rollback()
                time.sleep(0.3)
                with pytest.raises(QueryTimeout):
                    conn.execute(sa.text("SELECT 1"))
            finally:
                deadline.clear()
                deadline.SLACK_MS = slack
            conn.rollback()
            assert conn.execute(sa.text("SHOW statement_timeout")).scalar_one() == "10s"
    finally:
        engine.dispose()


def test_a_streamed_statement_under_a_short_deadline(settings, sample_city):
    """The lowered timeout goes on a cursor of its own: a server-side cursor (a streamed
    page of features) cannot run SET."""
    engine = make_engine(settings, timeout_ms=10_000)
    deadline.bound_statements(engine, 10_000)
    try:
        with engine.connect() as conn:
            deadline.start(3000)
            try:
                rows = conn.execution_options(stream_results=True, yield_per=10).execute(
                    sa.text("SELECT id FROM land.parcels"))
                assert len(rows.fetchmany(10)) == 10
                assert conn.execute(sa.text("SELECT current_setting('statement_timeout')")).scalar_one() != "10s"
            finally:
                deadline.clear()
    finally:
        engine.dispose()


def _hold_lock(engine, table, locked, release):
    with engine.begin() as conn:
        conn.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        locked.set()
        release.wait(30)


def test_a_request_ends_at_its_deadline_not_the_statement_timeout(settings, engine, sample_city,
                                                                 no_server_errors):
    app = _app(settings, statement_timeout_ms=10_000, request_timeout_ms=800)
    locked, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(engine, "construction.buildings", locked, release))
    holder.start()
    try:
        assert locked.wait(10)
        started = time.monotonic()
        resp = app.test_client().get("/query/stats?layer=buildings&by=ward")
        took = time.monotonic() - started
    finally:
        release.set()
        holder.join()
        _dispose(app)
    assert _json_error(resp, 503)["code"] == "Timeout"
    assert took < 0.8 + deadline.SLACK_MS / 1000 + 0.5, took


def test_heavy_requests_give_way_when_their_slots_are_taken(app, client, sample_city):
    slots = app.extensions["gisdb.heavy"]
    assert all(slots.try_take() for _ in range(slots.slots))
    try:
        for url in ("/query/stats?layer=buildings&by=ward",
                    "/collections/buildings/items?limit=1&filter=floors>3",
                    "/collections/buildings/items?limit=1&sortby=-floors"):
            resp = client.get(url)
            assert _json_error(resp, 503)["code"] == "ServerBusy"
            assert resp.headers["Retry-After"]
        busy = client.post("/query/within", json={"circle": "108.22,16.06,300"})
        assert busy.status_code == 503
        assert client.get("/collections/buildings/items?limit=1&bbox=108.2,16.0,108.3,16.1").status_code == 200
        assert client.get("/search?q=hai").status_code == 200
    finally:
        for _ in range(slots.slots):
            slots.give_back()
    assert client.get("/query/stats?layer=buildings&by=ward").status_code == 200


# --- PNG tiles after lost connections ---------------------------------------------------------

def test_png_tiles_heal_at_once_when_their_connections_die(settings, engine, sample_city, tmp_path):
    # own (empty) tile cache, and a statement timeout of its own: its Mapnik pool (one per
    # connection string) is then its own, and only its connections are killed below, not
    # the pools other tests of this session render with
    app = _app(settings, data_dir=tmp_path, statement_timeout_ms=14_321)
    try:
        client = app.test_client()
        with engine.connect() as conn:
            born = conn.execute(sa.text("SELECT clock_timestamp()")).scalar_one()
        x, y = lonlat_to_tile(108.22, 16.06, 15)
        for dx in range(3):
            assert client.get(f"/tiles/parcels,roads/15/{x + dx}/{y}.png").status_code == 200
        with engine.connect() as conn:
            killed = conn.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_start >= :born "
                "AND (application_name LIKE 'mapnik%' OR application_name = 'gisdb-tiles')"),
                {"born": born}).scalar_one()
        assert killed >= 1
        started = time.monotonic()
        for dy in range(1, 4):                              # uncached tiles: Mapnik renders
            resp = client.get(f"/tiles/parcels,roads/15/{x}/{y + dy}.png")
            assert resp.status_code == 200, resp.data[:200]
            assert resp.headers["X-Tile-Cache"] == "miss"
        assert time.monotonic() - started < 2.0
    finally:
        _dispose(app)
