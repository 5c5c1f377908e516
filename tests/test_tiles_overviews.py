"""Stored low-zoom overviews (issue 16): built per zoom band, read by z8-z12 tiles only
while they match their layer's data version, refreshed by the write path, and never
served stale (a write outside it makes tiles simplify the live rows until a refresh)."""
from __future__ import annotations

import gzip
import json

import mapbox_vector_tile
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from edit_support import PATCH, auth
from layers.overview_table import BANDS, OverviewFeature
from layers.registry import get_layer
from tiles.grid import Tile, lonlat_to_tile
from tiles.mvt import render_mvt
from tiles.overviews import overview_layers, overview_status, refresh_overviews, settle

FEATURES = OverviewFeature.__table__
MARK = "OVERVIEW-MARK"
LIMIT_BYTES = 500 * 1024


@pytest.fixture(scope="module")
def roads(engine, sample_city):
    """The sample's overviews built; (the longest road's id, its z12 tile)."""
    refresh_overviews(engine)
    table = get_layer("roads").table
    with engine.connect() as conn:
        row = conn.execute(sa.select(table.c.id, sa.func.ST_X(sa.func.ST_Centroid(table.c.geom)),
                                     sa.func.ST_Y(sa.func.ST_Centroid(table.c.geom)))
                           .order_by(sa.func.ST_Length(table.c.geom_3857).desc()).limit(1)).one()
    return row[0], Tile(12, *lonlat_to_tile(row[1], row[2], 12))


def decoded(conn, tile) -> dict:
    return mapbox_vector_tile.decode(render_mvt(conn, [get_layer("roads")], tile))


def names(tile_doc) -> dict[int, str]:
    return {f["id"]: f["properties"].get("name") for f in tile_doc["roads"]["features"]}


def test_refresh_builds_each_band_once(engine, roads):
    with engine.connect() as conn:
        counts = dict(conn.execute(sa.select(FEATURES.c.band, sa.func.count())
                                   .where(FEATURES.c.layer == "roads").group_by(FEATURES.c.band)).all())
        status = {row["layer"]: row for row in overview_status(conn)}
    assert set(counts) <= {band for band in BANDS if band >= get_layer("roads").min_zoom}
    assert 0 < counts[11] < counts[12]                   # sub-pixel roads dropped at low zooms
    assert {layer.id for layer in overview_layers()} >= {"roads", "zoning", "projects", "admin_units"}
    assert all(row["current"] for row in status.values()), status
    assert refresh_overviews(engine, ["roads"]) == {"roads": None}     # current: nothing done


def test_tile_reads_overviews_and_never_a_stale_one(engine, roads):
    road_id, tile = roads
    with engine.connect() as conn:
        before = names(decoded(conn, tile))
    assert road_id in before and before[road_id]
    with engine.begin() as conn:       # mark the stored copy: a tile showing it read overviews
        conn.execute(sa.update(FEATURES).where(FEATURES.c.layer == "roads", FEATURES.c.band == 12)
                     .values(props=FEATURES.c.props.op("||")(sa.func.jsonb_build_object("name", MARK))))
    with engine.connect() as conn:
        assert set(names(decoded(conn, tile)).values()) == {MARK}
    table = get_layer("roads").table
    with engine.begin() as conn:       # a DBA's plain SQL: the layer's version moves on
        conn.execute(sa.update(table).where(table.c.id == road_id).values(name="Đường mới"))
    with engine.connect() as conn:
        live = names(decoded(conn, tile))
    assert MARK not in live.values() and live[road_id] == "Đường mới"   # live rows, not stale ones
    assert set(live) == set(before)                 # the same features, simplified per request
    assert refresh_overviews(engine, ["roads"])["roads"] > 0
    with engine.connect() as conn:
        assert names(decoded(conn, tile)) == live    # rebuilt: the stored copy says the same


def test_edit_through_the_api_refreshes_overviews(write_app, client, edit_keys, engine, roads):
    table = get_layer("zoning").table
    with engine.connect() as conn:
        zone_id, lon, lat = conn.execute(
            sa.select(table.c.id, sa.func.ST_X(sa.func.ST_Centroid(table.c.geom)),
                      sa.func.ST_Y(sa.func.ST_Centroid(table.c.geom)))
            .order_by(sa.func.ST_Area(table.c.geom_3857).desc()).limit(1)).one()
    tile = Tile(12, *lonlat_to_tile(lon, lat, 12))
    wc = write_app.test_client()
    url = f"/collections/zoning/items/{zone_id}"
    etag = wc.get(url, headers=auth(edit_keys["edit"])).headers["ETag"]
    resp = wc.patch(url, data=json.dumps({"properties": {"name": "Khu Sơn Trà 2"}}),
                    headers=auth(edit_keys["edit"], **{"Content-Type": PATCH, "If-Match": etag}))
    assert resp.status_code in (200, 204), resp.get_json()
    assert settle()                    # the web refreshes after answering, on a thread
    with engine.connect() as conn:
        stored = conn.execute(sa.select(FEATURES.c.props["name"].astext).where(
            FEATURES.c.layer == "zoning", FEATURES.c.band == 12, FEATURES.c.id == zone_id)).scalar()
        assert stored == "Khu Sơn Trà 2"
        assert {row["layer"]: row["current"] for row in overview_status(conn)}["zoning"]
    got = client.get(f"/collections/zoning/tiles/WebMercatorQuad/12/{tile.y}/{tile.x}",
                     headers={"Accept-Encoding": "gzip"})
    assert got.status_code == 200 and len(got.data) <= LIMIT_BYTES
    body = gzip.decompress(got.data) if got.headers.get("Content-Encoding") == "gzip" else got.data
    shown = {f["id"]: f["properties"] for f in mapbox_vector_tile.decode(body)["zoning"]["features"]}
    assert shown[zone_id]["name"] == "Khu Sơn Trà 2" and "planned_use" in shown[zone_id]


def test_every_overview_zoom_decodes_under_the_bound(engine, roads):
    layers = [get_layer(i) for i in ("admin_units", "zoning", "projects", "roads", "incidents")]
    _, tile = roads
    with engine.connect() as conn:
        for z in BANDS:
            t = Tile(z, tile.x >> (12 - z), tile.y >> (12 - z))
            raw = render_mvt(conn, layers, t)
            assert len(gzip.compress(raw)) <= LIMIT_BYTES
            doc = mapbox_vector_tile.decode(raw)
            assert "admin_units" in doc, z
            for feature in doc.get("roads", {}).get("features", []):
                assert set(feature["properties"]) <= {"name", "road_class", "lanes", "oneway"}


def test_cli_refreshes_and_refuses_unknown_layers(settings, roads):
    from scripts.cli import main
    runner = CliRunner()
    env = {"GISDB_DATABASE_URL": settings.database_url}
    ok = runner.invoke(main, ["tiles", "overviews", "--json"], env=env)
    assert ok.exit_code == 0, ok.output
    assert {row["layer"] for row in json.loads(ok.output)} >= {"roads", "zoning"}
    bad = runner.invoke(main, ["tiles", "overviews", "--layer", "no_such_layer"], env=env)
    assert bad.exit_code != 0 and "no_such_layer" in bad.output and "Traceback" not in bad.output
