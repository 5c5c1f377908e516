"""Vector tiles over HTTP: decoded layers, features and attributes at several zooms,
zoom ranges, clustering, filters, ETag/304/gzip, edits showing at once, errors, and the
OGC API - Tiles / TileJSON documents."""
from __future__ import annotations

import gzip
import re
from dataclasses import replace

import mapbox_vector_tile
import pytest
import sqlalchemy as sa

from tiles.grid import lonlat_to_tile

# A synthetic block of the city, away from the sample city's centre, removed afterwards.
ROWS_SQL = """
INSERT INTO construction.buildings (building_code, use, status, floors, height_m, name, geom)
SELECT 'T5B-' || g, (ARRAY['residential','commercial','office'])[1 + g % 3], 'existing',
       1 + g % 10, 3.5 * (1 + g % 10), 'Nhà số ' || g,
       ST_Multi(ST_MakeEnvelope(108.2980 + (g % 30) * 0.00015, 15.8985 + (g / 30) * 0.0002,
                                108.2980 + (g % 30) * 0.00015 + 0.00011,
                                15.8985 + (g / 30) * 0.0002 + 0.00011, 4326))
FROM generate_series(0, 599) g;
INSERT INTO construction.buildings (building_code, use, status, geom)
SELECT 'T5B-tiny-' || g, 'public', 'existing',
       ST_Multi(ST_MakeEnvelope(108.2980 + g * 0.0002, 15.9028, 108.29802 + g * 0.0002, 15.90282, 4326))
FROM generate_series(0, 19) g;
INSERT INTO traffic.roads (segment_code, name, road_class, lanes, geom)
SELECT 'T5R-' || g, 'Đường Thử ' || g, 'primary', 2,
       ST_Multi(ST_MakeLine(ST_MakePoint(108.2985 + g * 0.0004, 15.8985),
                            ST_MakePoint(108.2985 + g * 0.0004, 15.9030)))
FROM generate_series(0, 9) g;
INSERT INTO traffic.incidents (incident_code, occurred_at, incident_type, severity, geom)
SELECT 'T5I-' || g, timestamptz '2024-01-01 00:00+07' + g * interval '1 day', 'collision',
       1 + g % 4, ST_SetSRID(ST_MakePoint(108.3010 + (g % 10) * 0.0001, 15.9010 + (g / 10) * 0.0001), 4326)
FROM generate_series(0, 99) g;
"""
CLEANUP_SQL = (
    "DELETE FROM construction.buildings WHERE building_code LIKE 'T5B-%'",
    "DELETE FROM traffic.roads WHERE segment_code LIKE 'T5R-%'",
    "DELETE FROM traffic.incidents WHERE incident_code LIKE 'T5I-%'",
)
LON, LAT = 108.3015, 15.9015  # every test row lies in this point's z16 tile


@pytest.fixture(scope="module")
def rows(engine):
    with engine.begin() as conn:
        for statement in CLEANUP_SQL:
            conn.execute(sa.text(statement))
        for statement in ROWS_SQL.split(";"):
            if statement.strip():
                conn.execute(sa.text(statement))
    yield
    with engine.begin() as conn:
        for statement in CLEANUP_SQL:
            conn.execute(sa.text(statement))


@pytest.fixture(scope="module")
def tile_app(settings, rows, tmp_path_factory):
    from webmap.app import create_app
    own = replace(settings, data_dir=tmp_path_factory.mktemp("tiles-data"))
    application = create_app({"TESTING": True, "SETTINGS": own})
    yield application
    application.extensions["gisdb"].engine.dispose()
    if "gisdb.tiles" in application.extensions:
        application.extensions["gisdb.tiles"].engine.dispose()


@pytest.fixture
def tc(tile_app):
    return tile_app.test_client()


def xyz(z, lon=LON, lat=LAT):
    x, y = lonlat_to_tile(lon, lat, z)
    return z, x, y


def decode(resp) -> dict:
    assert resp.status_code == 200, resp.data[:300]
    assert resp.mimetype == "application/vnd.mapbox-vector-tile"
    data = resp.data
    if resp.headers.get("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    return mapbox_vector_tile.decode(data)


def ours(features, key, prefix):
    return [f for f in features if str(f["properties"].get(key, "")).startswith(prefix)]


def test_composite_tile_layers_features_attributes_at_z16_z15_z14(tc):
    for z in (16, 15, 14):
        tile = decode(tc.get("/tiles/buildings,roads,incidents/%d/%d/%d.mvt" % xyz(z)))
        assert {"buildings", "roads", "incidents"} <= set(tile)
        buildings = ours(tile["buildings"]["features"], "building_code", "T5B-")
        assert buildings, z
        props = buildings[0]["properties"]
        # only the registry's tile fields travel (name and address do not)
        assert set(props) <= {"building_code", "floors", "height_m", "use", "status"}
        assert {"building_code", "use", "floors"} <= set(props)
        assert isinstance(props["height_m"], float)
        assert isinstance(buildings[0]["id"], int)
        roads = ours(tile["roads"]["features"], "name", "Đường Thử")
        assert roads and roads[0]["properties"]["road_class"] == "primary"
    # more buildings fit in a z14 tile than in a z17 tile
    z14 = decode(tc.get("/tiles/buildings/%d/%d/%d.mvt" % xyz(14)))["buildings"]["features"]
    z17 = decode(tc.get("/tiles/buildings/%d/%d/%d.mvt" % xyz(17)))["buildings"]["features"]
    assert len(ours(z14, "building_code", "T5B-")) == 600 > len(ours(z17, "building_code", "T5B-")) > 0
    # features smaller than a pixel are left out at lower zooms, kept at detail zooms
    assert len(ours(z14, "building_code", "T5B-tiny")) == 0
    z16 = decode(tc.get("/tiles/buildings/%d/%d/%d.mvt" % xyz(16)))["buildings"]["features"]
    assert len(ours(z16, "building_code", "T5B-tiny")) == 20


def test_zoom_range_from_registry_gives_empty_204_not_error(tc):
    # buildings start at z14 in the registry: at z12 the composite keeps only roads
    tile = decode(tc.get("/tiles/buildings,roads/%d/%d/%d.mvt" % xyz(12)))
    assert "buildings" not in tile and "roads" in tile
    only = tc.get("/tiles/buildings/%d/%d/%d.mvt" % xyz(12))
    assert only.status_code == 204 and only.data == b"" and only.headers["ETag"]


def test_points_are_clustered_below_z15_with_counts(tc):
    low = decode(tc.get("/tiles/incidents/%d/%d/%d.mvt" % xyz(12)))["incidents"]["features"]
    assert sum(f["properties"]["point_count"] for f in low) == 100
    assert len(low) < 100 and any(f["properties"].get("cluster") for f in low)
    high = decode(tc.get("/tiles/incidents/%d/%d/%d.mvt" % xyz(17)))
    singles = ours(high["incidents"]["features"], "incident_code", "T5I-")
    assert singles and "point_count" not in singles[0]["properties"]
    assert {"incident_code", "occurred_at", "incident_type", "severity"} <= set(singles[0]["properties"])


def test_ogc_tile_path_is_row_then_column(tc):
    z, x, y = xyz(15)
    ogc = decode(tc.get(f"/collections/buildings/tiles/WebMercatorQuad/{z}/{y}/{x}"))
    xyz_tile = decode(tc.get(f"/tiles/buildings/{z}/{x}/{y}.mvt"))
    assert len(ogc["buildings"]["features"]) == len(xyz_tile["buildings"]["features"]) > 0
    swapped = tc.get(f"/collections/buildings/tiles/WebMercatorQuad/{z}/{x}/{y}")
    assert swapped.status_code in (204, 200)
    if swapped.status_code == 200:
        assert len(decode(swapped).get("buildings", {"features": []})["features"]) != \
            len(ogc["buildings"]["features"])


def test_cql2_filter_and_datetime_on_tiles(tc):
    z, x, y = xyz(16)
    base = f"/collections/incidents/tiles/WebMercatorQuad/{z}/{y}/{x}"
    every = ours(decode(tc.get(base))["incidents"]["features"], "incident_code", "T5I-")
    severe = decode(tc.get(base, query_string={"filter": "severity = 4"}))["incidents"]["features"]
    assert severe and all(f["properties"]["severity"] == 4 for f in severe)
    assert len(severe) < len(every)
    january = decode(tc.get(base, query_string={"datetime": "2024-01-01/2024-01-10"}))
    codes = {f["properties"]["incident_code"] for f in january["incidents"]["features"]}
    assert codes and len(codes) <= 10
    bad = tc.get(base, query_string={"filter": "no_such_field = 1"})
    assert bad.status_code == 400 and bad.json["code"] == "InvalidFilter"
    assert tc.get(base, query_string={"datetime": "yesterday"}).status_code == 400
    assert tc.get(base, query_string={"colour": "red"}).status_code == 400


def test_etag_304_gzip_negotiation_and_cache_control(tc):
    url = "/tiles/buildings/%d/%d/%d.mvt" % xyz(15)
    zipped = tc.get(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert zipped.headers["Cache-Control"]
    plain = tc.get(url)
    assert "Content-Encoding" not in plain.headers
    assert gzip.decompress(zipped.data) == plain.data
    assert mapbox_vector_tile.decode(plain.data)["buildings"]["features"]
    etag = plain.headers["ETag"]
    assert zipped.headers["ETag"] == etag
    again = tc.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["X-Tile-Cache"] == "hit"
    other = tc.get(url, headers={"If-None-Match": 'W/"something-else"'})
    assert other.status_code == 200


def test_edit_in_database_shows_in_next_tile_with_new_etag(tc, engine):
    url = "/tiles/buildings/%d/%d/%d.mvt" % xyz(16)
    before = tc.get(url)
    feature = [f for f in decode(before)["buildings"]["features"]
               if f["properties"]["building_code"] == "T5B-0"][0]
    assert feature["properties"]["floors"] == 1
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE construction.buildings SET floors = 42 "
                             "WHERE building_code = 'T5B-0'"))
    after = tc.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200                         # not a stale 304
    assert after.headers["ETag"] != before.headers["ETag"]
    edited = [f for f in decode(after)["buildings"]["features"]
              if f["properties"]["building_code"] == "T5B-0"][0]
    assert edited["properties"]["floors"] == 42


@pytest.mark.parametrize("url, status", [
    ("/tiles/buildings/15/abc/1.mvt", 400),
    ("/tiles/buildings/-1/0/0.mvt", 400),
    ("/tiles/buildings/25/0/0.mvt", 400),
    ("/tiles/buildings/3/8/0.mvt", 400),
    ("/tiles/buildings/3/0/1.5.mvt", 400),
    ("/collections/buildings/tiles/WebMercatorQuad/3/0/99", 400),
    ("/tiles/no_such_layer/3/0/0.mvt", 404),
    ("/tiles/buildings,nope/3/0/0.mvt", 404),
    ("/collections/nope/tiles/WebMercatorQuad/3/0/0", 404),
    ("/collections/buildings/tiles/EuropeanETRS89_LAEAQuad/3/0/0", 404),
    ("/tiles/buildings,buildings/3/0/0.mvt", 400),
    ("/collections/roads/tiles/WebMercatorQuad/12/0/0?datetime=2024-01-01", 400),
    ("/tiles/roads/12/0/0.mvt?f=png", 400),
])
def test_bad_tile_requests_are_json_errors(tc, url, status):
    resp = tc.get(url)
    assert resp.status_code == status
    assert resp.json["code"] and resp.json["description"]
    assert resp.headers["Cache-Control"] == "no-store"


def test_database_timeout_is_503_json_and_nothing_is_cached(settings, rows, tmp_path):
    from tiles.cache import TileCache
    from webmap.app import create_app
    slow = replace(settings, data_dir=tmp_path, statement_timeout_ms=1)
    app = create_app({"TESTING": True, "SETTINGS": slow})
    url = "/tiles/buildings,roads,incidents/%d/%d/%d.mvt" % xyz(14)
    try:
        with app.test_client() as client:
            resp = client.get(url)
            assert resp.status_code == 503
            assert resp.json["code"] in ("Timeout", "DatabaseUnavailable")
            assert resp.headers["Cache-Control"] == "no-store"
        assert TileCache.from_settings(slow).disk_usage() == 0
    finally:
        app.extensions["gisdb"].engine.dispose()
        if "gisdb.tiles" in app.extensions:
            app.extensions["gisdb.tiles"].engine.dispose()
    healthy = create_app({"TESTING": True, "SETTINGS": replace(slow, statement_timeout_ms=15000)})
    try:
        assert decode(healthy.test_client().get(url))["buildings"]["features"]
    finally:
        healthy.extensions["gisdb"].engine.dispose()
        healthy.extensions["gisdb.tiles"].engine.dispose()


def test_tilejson_for_composite_and_layer(tc):
    doc = tc.get("/tiles/buildings,roads.json").json
    assert doc["tilejson"] == "3.0.0"
    assert re.search(r"/tiles/v\d+/buildings,roads/\{z\}/\{x\}/\{y\}\.mvt$", doc["tiles"][0])  # CDN-safe
    assert [v["id"] for v in doc["vector_layers"]] == ["buildings", "roads"]
    assert doc["vector_layers"][0]["minzoom"] == 14
    assert doc["vector_layers"][0]["fields"]["floors"] == "Number"
    assert doc["minzoom"] == 10 and len(doc["bounds"]) == 4
    one = tc.get("/collections/incidents/tiles/WebMercatorQuad/tilejson",
                 query_string={"filter": "severity = 4"}).json
    assert re.search(r"/collections/incidents/tiles/WebMercatorQuad/v\d+/\{z\}/\{y\}/\{x\}$",
                     one["tiles"][0].split("?")[0])
    assert "filter=severity" in one["tiles"][0]
    assert one["vector_layers"][0]["fields"]["point_count"] == "Number"
    assert tc.get("/tiles/buildings,nope.json").status_code == 404


def test_ogc_tilesets_and_tile_matrix_sets(tc):
    sets = tc.get("/collections/roads/tiles").json
    assert sets["tilesets"][0]["tileMatrixSetURI"].endswith("WebMercatorQuad")
    meta = tc.get("/collections/roads/tiles/WebMercatorQuad").json
    assert meta["dataType"] == "vector"
    assert meta["tileMatrixSetLimits"][0]["tileMatrix"] == "10"
    item = [link for link in meta["links"] if link["rel"] == "item"][0]
    assert re.search(r"/collections/roads/tiles/WebMercatorQuad/v\d+/\{tileMatrix\}/\{tileRow\}/\{tileCol\}$",
                     item["href"])
    tms = tc.get("/tileMatrixSets/WebMercatorQuad").json
    assert tms["id"] == "WebMercatorQuad" and len(tms["tileMatrices"]) == 25
    assert tms["tileMatrices"][0]["matrixWidth"] == 1 and tms["tileMatrices"][3]["matrixWidth"] == 8
    assert tc.get("/tileMatrixSets").json["tileMatrixSets"][0]["id"] == "WebMercatorQuad"
    assert tc.get("/tileMatrixSets/Nope").status_code == 404


def test_every_registry_layer_of_the_sample_city_at_several_zooms(client, sample_city, engine):
    from layers.registry import ALL_LAYERS
    for layer in ALL_LAYERS:
        if not sample_city.get(layer.id):
            continue
        table = layer.table
        g = table.c.geom
        size = sa.func.greatest(sa.func.ST_XMax(g) - sa.func.ST_XMin(g), sa.func.ST_YMax(g) - sa.func.ST_YMin(g))
        with engine.connect() as conn:      # the largest feature: big enough for the lowest zoom
            ident, lon, lat = conn.execute(
                sa.select(table.c.id, sa.func.ST_X(sa.func.ST_PointOnSurface(table.c.geom)),
                          sa.func.ST_Y(sa.func.ST_PointOnSurface(table.c.geom)))
                .order_by(size.desc(), table.c.id).limit(1)).one()
        for z in sorted({max(layer.min_zoom, 8), 16}):
            z, x, y = xyz(z, lon, lat)
            resp = client.get(f"/collections/{layer.id}/tiles/WebMercatorQuad/{z}/{y}/{x}")
            features = decode(resp)[layer.id]["features"]
            assert features, (layer.id, z)
            for feature in features:
                extra = set(feature["properties"]) - set(layer.tile_fields) - {"point_count", "cluster"}
                assert not extra, (layer.id, extra)
            if z == 16:
                assert ident in {f.get("id") for f in features}, layer.id
