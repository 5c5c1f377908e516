"""The tile cache: keys follow data versions, the disk size bound holds, failures store
nothing; and the tile server heals when its database connections die."""
from __future__ import annotations

from dataclasses import replace

import mapbox_vector_tile
import pytest
import sqlalchemy as sa

from gisdb.errors import InvalidParameter, QueryTimeout
from test_tiles_mvt import rows, xyz  # noqa: F401  (rows is a fixture)
from tiles.cache import TileCache, cache_key, tile_etag
from tiles.grid import parse_tile, parse_zoom_range


def test_key_and_etag_follow_versions_and_options():
    base = tile_etag(("mvt", ("roads",), 14, 1, 2, ""), {"traffic.roads": 7})
    assert len(base) == 32 and int(base, 16) >= 0     # a bare tag: the web layer writes the ETag
    assert base == tile_etag(("mvt", ("roads",), 14, 1, 2, ""), {"traffic.roads": 7})
    assert base != tile_etag(("mvt", ("roads",), 14, 1, 2, ""), {"traffic.roads": 8})
    assert base != tile_etag(("mvt", ("roads",), 14, 1, 2, "lanes > 2"), {"traffic.roads": 7})
    assert base != tile_etag(("mvt", ("roads",), 14, 2, 1, ""), {"traffic.roads": 7})
    assert cache_key(("a",), {"x": 1, "y": 2}) == cache_key(("a",), {"y": 2, "x": 1})


def test_get_or_render_stores_and_serves_from_memory_and_disk(tmp_path):
    cache = TileCache(tmp_path, 1)
    calls = []

    def render():
        calls.append(1)
        return b"tile-bytes"

    first = cache.get_or_render(("k", 1), {"t": 1}, render)
    second = cache.get_or_render(("k", 1), {"t": 1}, render)
    assert (first.hit, second.hit, len(calls)) == (False, True, 1)
    assert first.etag == second.etag and second.data == b"tile-bytes"
    fresh = TileCache(tmp_path, 1)                      # another worker process: disk hit
    assert fresh.get_or_render(("k", 1), {"t": 1}, render).hit and len(calls) == 1
    assert not cache.get_or_render(("k", 1), {"t": 2}, render).hit   # an edit: new key
    assert len(calls) == 2


def test_disk_cache_stays_under_its_size_bound(tmp_path):
    cache = TileCache(tmp_path, 1, memory_mb=1)        # 1 MB on disk
    blob = b"x" * 100_000
    for i in range(40):                                 # 4 MB written
        cache.get_or_render(("tile", i), {}, lambda: blob)
    assert cache.disk_usage() <= 1024 * 1024
    newest = TileCache(tmp_path, 1)
    assert newest.get_or_render(("tile", 39), {}, lambda: b"other").hit   # recent kept
    assert not newest.get_or_render(("tile", 0), {}, lambda: b"other").hit  # oldest evicted


def test_render_failure_stores_nothing(tmp_path):
    cache = TileCache(tmp_path, 1)

    def timeout():
        raise QueryTimeout("too slow")

    with pytest.raises(QueryTimeout):
        cache.get_or_render(("k",), {}, timeout)
    assert cache.disk_usage() == 0
    assert cache.get_or_render(("k",), {}, lambda: b"good").data == b"good"


def test_disabled_cache_always_renders(tmp_path):
    cache = TileCache(tmp_path, 0)
    assert not cache.enabled
    for _ in range(2):
        assert not cache.get_or_render(("k",), {}, lambda: b"x").hit
    assert cache.disk_usage() == 0


@pytest.mark.parametrize("z, x, y", [("a", 0, 0), (3, 8, 0), (3, 0, -1), (25, 0, 0),
                                     ("1e3", 0, 0), ("٣", 0, 0), (3, "0x1", 0)])
def test_parse_tile_rejects(z, x, y):
    with pytest.raises(InvalidParameter):
        parse_tile(z, x, y)


def test_parse_tile_and_zoom_range_accept():
    assert parse_tile("3", "7", "0") == parse_tile(3, 7, 0)
    assert parse_zoom_range("10-16") == (10, 16) and parse_zoom_range("12") == (12, 12)


@pytest.fixture
def app_with(settings, rows, tmp_path):  # noqa: F811
    made = []

    def build(**overrides):
        from webmap.app import create_app
        app = create_app({"TESTING": True,
                          "SETTINGS": replace(settings, data_dir=tmp_path, **overrides)})
        made.append(app)
        return app
    yield build
    for app in made:
        app.extensions["gisdb"].engine.dispose()
        if "gisdb.tiles" in app.extensions:
            app.extensions["gisdb.tiles"].engine.dispose()


def test_uncached_server_gives_the_same_etag_and_follows_edits(app_with, engine):
    url = "/tiles/buildings/%d/%d/%d.mvt" % xyz(16)
    cached = app_with().test_client().get(url)
    uncached_app = app_with(tile_cache_mb=0)
    client = uncached_app.test_client()
    plain = client.get(url)
    assert plain.status_code == 200 and plain.headers["X-Tile-Cache"] == "miss"
    assert plain.headers["ETag"] == cached.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": plain.headers["ETag"]}).status_code == 304
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE construction.buildings SET status = 'planned' "
                             "WHERE building_code = 'T5B-1'"))
    after = client.get(url)
    assert after.headers["ETag"] != plain.headers["ETag"]
    status = {f["properties"]["building_code"]: f["properties"]["status"]
              for f in mapbox_vector_tile.decode(after.data)["buildings"]["features"]}
    assert status["T5B-1"] == "planned"


def test_tiles_survive_killed_database_connections(app_with, engine):
    app = app_with()
    client = app.test_client()
    url = "/tiles/buildings,roads/%d/%d/%d.mvt" % xyz(15)
    assert client.get(url).status_code == 200
    with engine.begin() as conn:                       # what a database restart does to them
        killed = conn.execute(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'gisdb-tiles' AND datname = current_database()")).scalar()
    assert killed >= 1
    app.extensions["gisdb.tiles"].cache.clear()
    again = client.get(url)
    assert again.status_code == 200 and again.headers["X-Tile-Cache"] == "miss"
