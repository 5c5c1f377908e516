"""Spatial queries (identify, near, within, stats) on a small test city whose sizes are
known in metres (rolled back after the module), and their HTTP endpoints and
`gisdb query` command on the sample city."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gisdb.errors import InvalidFilter, InvalidParameter
from layers import queries
from layers.queries import inputs
from layers.registry import ALL_LAYERS, get_layer, is_derived
from scripts.cli import main
from tests.query_city import CELL, GRID, lonlat, qc  # noqa: F401  (qc: fixture)


def square(conn, x0, y0, x1, y1) -> dict:
    """A GeoJSON polygon through four local-grid corners."""
    ring = [list(lonlat(conn, x, y)) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def test_identify_returns_parcel_ward_and_zone_with_labels(qc):
    conn, ids = qc
    lon, lat = lonlat(conn, 150, 250)           # inside parcel (1, 2) of ward 1
    result = queries.identify(conn, lon, lat, tolerance_m=5)
    got = [(f["layer"], f["id"]) for f in result["features"]]
    assert got[0] == ("parcels", ids["parcels"][1 * GRID + 2])
    assert ("admin_units", ids["ward1"]) in got and ("zoning", ids["zone"]) in got
    assert ("admin_units", ids["district"]) not in got      # districts end on 2025-07-01
    parcel = result["features"][0]
    assert parcel["distance_m"] == 0 and parcel["layer_title_vi"] == "Thửa đất"
    labels = {a["name"]: (a["vi"], a["value"]) for a in parcel["attributes"]}
    assert labels["parcel_no"] == ("Số thửa", 102) and labels["sheet_no"][1] == 91
    old = queries.identify(conn, lon, lat, (get_layer("admin_units"),), at_date=inputs.date("2024-05-01"))
    assert {f["id"] for f in old["features"]} == {ids["district"], ids["old_ward"]}


def test_identify_finds_lines_and_points_within_tolerance_nearest_first(qc):
    conn, ids = qc
    lon, lat = lonlat(conn, 100, 206)           # 6 m from the street, 3 m from camera 1
    layers = (get_layer("roads"), get_layer("cameras"))
    near = queries.identify(conn, lon, lat, layers, tolerance_m=10)
    assert [(f["layer"], f["id"]) for f in near["features"]] == [
        ("cameras", ids["cameras"][0]), ("roads", ids["roads"][0])]
    assert near["features"][0]["distance_m"] == pytest.approx(3, abs=0.2)
    assert near["features"][1]["distance_m"] == pytest.approx(6, abs=0.2)
    assert queries.identify(conn, lon, lat, layers, tolerance_m=2)["features"] == []


def test_near_sorted_by_distance_with_filters(qc):
    conn, ids = qc
    lon, lat = lonlat(conn, 50, 0)
    buildings = get_layer("buildings")
    result = queries.near(conn, buildings, inputs.point(lon, lat), 160)
    distances = [f["properties"]["distance_m"] for f in result["features"]]
    assert distances == sorted(distances) and len(distances) == 2
    assert distances[0] == pytest.approx(40, abs=0.5)           # building 0 starts at y = 40
    assert result["numberMatched"] == 2
    three = queries.near(conn, buildings, inputs.point(lon, lat), 400, equals={"floors": "3"})
    assert {f["id"] for f in three["features"]} == {ids["buildings"][0], ids["buildings"][2]}
    cql = queries.near(conn, buildings, inputs.point(lon, lat), 400, filter_text="floors IS NULL")
    assert {f["id"] for f in cql["features"]} == {ids["buildings"][1], ids["buildings"][3]}
    street = inputs.geojson_geometry({"type": "LineString", "coordinates": [
        list(lonlat(conn, 0, 200)), list(lonlat(conn, 400, 200))]})
    along = queries.near(conn, buildings, street, 45, with_geometry=False)
    assert {f["id"] for f in along["features"]} == {ids["buildings"][1], ids["buildings"][2]}
    with pytest.raises(InvalidParameter):
        queries.near(conn, buildings, inputs.point(lon, lat), 400, equals={"no_such": "1"})
    with pytest.raises(InvalidFilter):
        queries.near(conn, buildings, inputs.point(lon, lat), 400,
                     filter_text="floors = 1; DROP TABLE construction.buildings")


def _direct_count(conn, layer, where) -> int:
    t = layer.table
    return conn.execute(sa.select(sa.func.count()).select_from(t).where(where(t))).scalar_one()


def test_within_polygon_counts_equal_direct_intersects_and_measures_in_metres(qc):
    conn, ids = qc
    poly = square(conn, -1, -1, 301, 250)
    result = queries.within(conn, inputs.geojson_geometry(poly), feature_ids=100)
    g = sa.func.ST_SetSRID(sa.func.ST_GeomFromGeoJSON(json.dumps(poly)), 4326)
    by_layer = {entry["layer"]: entry for entry in result["layers"]}
    for layer in ALL_LAYERS:
        if layer.id == "admin_units" or is_derived(layer):    # within covers the source layers
            continue
        assert by_layer[layer.id]["count"] == _direct_count(
            conn, layer, lambda t: sa.func.ST_Intersects(t.c.geom, g)), layer.id
    parcels = by_layer["parcels"]
    assert parcels["count"] == 4 * 3 and len(parcels["ids"]) == 12
    assert parcels["area_m2"] == pytest.approx(12 * CELL * CELL, rel=0.01)
    # inside the drawn area: x 0..301 (3 columns + 1 m of the 4th), y 0..250
    assert parcels["area_inside_m2"] == pytest.approx(301 * 250, rel=0.01)
    assert by_layer["buildings"]["floor_area_m2"] == pytest.approx(400 * (3 + 1 + 3), rel=0.01)
    assert by_layer["buildings"]["floors_unknown"] == 1
    assert by_layer["roads"]["length_m"] == pytest.approx(400 + 100, rel=0.01)
    assert by_layer["roads"]["length_inside_m"] == pytest.approx(301 + 100, rel=0.01)
    assert by_layer["cameras"]["count"] == 1
    assert result["query"]["area_m2"] == pytest.approx(302 * 251, rel=0.01)


def test_a_100m_square_of_the_local_grid_measures_10000_m2(qc):
    conn, _ = qc
    qg = inputs.geojson_geometry(square(conn, 0, 0, 100, 100))
    assert qg.area_m2 == pytest.approx(10_000, rel=0.01)
    one = queries.within(conn, qg, (get_layer("parcels"),))["layers"][0]
    assert one["area_inside_m2"] == pytest.approx(10_000, rel=0.01)


def test_within_circle_counts_equal_direct_dwithin(qc):
    conn, _ = qc
    lon, lat = lonlat(conn, 200, 200)
    result = queries.within(conn, inputs.circle(lon, lat, 150))
    centre = sa.func.ST_SetSRID(sa.func.ST_MakePoint(lon, lat), 4326)
    for entry in result["layers"]:
        layer = get_layer(entry["layer"])
        if layer.id == "admin_units":
            continue
        assert entry["count"] == _direct_count(conn, layer, lambda t: sa.func.ST_DWithin(
            sa.func.geography(t.c.geom), sa.func.geography(centre), 150)), layer.id
    roads = next(e for e in result["layers"] if e["layer"] == "roads")
    # the street crosses the whole circle (300 m); the alley x = 300 enters it for 11.8 m
    assert roads["length_inside_m"] == pytest.approx(300 + 100 - (200 - (150**2 - 100**2) ** 0.5),
                                                     abs=2)


def test_stats_by_ward_sum_to_total_and_districts_need_a_date(qc):
    conn, ids = qc
    parcels = get_layer("parcels")
    result = queries.stats(conn, parcels, "ward")
    units = {u["code"]: u for u in result["units"]}
    assert units["QT-W1"]["count"] == 8 and units["QT-W2"]["count"] == 8
    assert units["QT-W1"]["area_m2"] == pytest.approx(8 * CELL * CELL, rel=0.01)
    assert sum(u["count"] for u in result["units"]) + result["unassigned"]["count"] \
        == result["total"]["count"]
    roads = queries.stats(conn, get_layer("roads"), "ward", equals={"road_class": "alley"})
    alleys = {u["code"]: u for u in roads["units"]}["QT-W2"]
    assert alleys == {"code": "QT-W2", "name": "Xã Điện Bàn Thử", "count": 1,
                      "length_m": pytest.approx(100, rel=0.01)}
    with pytest.raises(InvalidParameter, match="2025-07-01"):
        queries.stats(conn, parcels, "district")
    old = queries.stats(conn, parcels, "district", at_date="2025-06-30")
    assert {u["code"]: u["count"] for u in old["units"]}["QT-D"] == 16


@pytest.mark.parametrize("bad", [
    "{not json", {"type": "Polygon"}, {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},   # bow-tie
    {"type": "Polygon", "coordinates": [[[0, 0], [0, 200], [1, 0], [0, 0]]]},        # latitude
    {"type": "GeometryCollection", "geometries": []}, [1, 2],
    {"type": "LineString", "coordinates": [[107 + i * 1e-5, 16.0] for i in range(10_001)]},
])
def test_invalid_geometries_are_refused(bad):
    with pytest.raises(InvalidParameter):
        inputs.geojson_geometry(bad)


def test_a_huge_area_is_refused(qc):
    conn, _ = qc
    earth = {"type": "Polygon", "coordinates": [[[-170, -80], [170, -80], [170, 80], [-170, 80],
                                                 [-170, -80]]]}
    with pytest.raises(InvalidParameter, match="too large"):
        queries.within(conn, inputs.geojson_geometry(earth))
    with pytest.raises(InvalidParameter):
        inputs.circle(108.2, 16.0, 1e9)


# ---- the sample city through HTTP and the command line --------------------------------

def _interior_parcel(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT id, ST_X(ST_PointOnSurface(geom)) AS lon, ST_Y(ST_PointOnSurface(geom)) AS lat "
            "FROM land.parcels ORDER BY id LIMIT 1 OFFSET 5")).one()


def test_http_identify_at_a_sample_parcel(client, engine):
    parcel = _interior_parcel(engine)
    resp = client.get(f"/query/identify?lon={parcel.lon}&lat={parcel.lat}&zoom=18")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    hit = next(f for f in body["features"] if f["layer"] == "parcels")
    assert hit["id"] == parcel.id
    assert {"rel": "item", "type": "application/geo+json",
            "href": f"/collections/parcels/items/{parcel.id}"} in hit["links"]
    assert any(f["layer"] == "admin_units" for f in body["features"])
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    again = client.get(f"/query/identify?lon={parcel.lon}&lat={parcel.lat}&zoom=18",
                       headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304


def test_http_within_counts_equal_direct_query(client, engine):
    with engine.connect() as conn:
        lon, lat = conn.execute(sa.text(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)) c FROM land.parcels) s")).one()
    d = 0.004
    poly = {"type": "Polygon", "coordinates": [[[lon - d, lat - d], [lon + d, lat - d],
                                                [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]]}
    resp = client.post("/query/within?layers=parcels,buildings,roads", json=poly)
    assert resp.status_code == 200, resp.get_json()
    with engine.connect() as conn:
        for entry in resp.get_json()["layers"]:
            direct = conn.execute(sa.text(
                "SELECT count(*) FROM " + get_layer(entry["layer"]).table_name +
                " WHERE ST_Intersects(geom, ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326))"),
                {"g": json.dumps(poly)}).scalar_one()
            assert entry["count"] == direct, entry["layer"]
    circle = client.get(f"/query/within?circle={lon},{lat},300&layers=buildings")
    assert circle.status_code == 200 and circle.get_json()["query"]["type"] == "circle"


def test_http_stats_and_near(client):
    stats = client.get("/query/stats?layer=buildings&by=ward").get_json()
    assert sum(u["count"] for u in stats["units"]) + stats["unassigned"]["count"] \
        == stats["total"]["count"] > 0
    assert client.get("/query/stats?layer=buildings&by=district").status_code == 400
    assert client.get("/query/stats?layer=buildings&by=district&at_date=2024-01-01").status_code == 200
    assert client.get("/query/stats?layer=roads&road_class=arterial").status_code == 200
    assert client.get("/query/stats?layer=roads&filter=lanes%3E%3D2").status_code == 200
    near = client.get("/query/near?layer=cameras&lon=108.22&lat=16.06&distance=3000&limit=5")
    assert near.status_code == 200 and near.get_json()["type"] == "FeatureCollection"


@pytest.mark.parametrize("url", [
    "/query/identify?lon=108.2&lat=16.0&bogus=1", "/query/identify?lon=abc&lat=16",
    "/query/identify?lon=108.2&lat=96", "/query/identify?lon=108.2&lat=16&layers=nope",
    "/query/within?geometry=%7Bbad", "/query/within?circle=108,16", "/query/stats?layer=parcels&by=city",
    "/query/stats?layer=parcels&filter=name%3D%27x%27%20OR%20pg_sleep(5)",
    "/query/near?layer=cameras&lon=108.2&lat=16&distance=1e9",
])
def test_http_bad_requests_are_400_json(client, url):
    resp = client.get(url)
    assert resp.status_code == 400
    body = resp.get_json()
    assert set(body) == {"code", "description"} and "SELECT" not in body["description"]


def test_http_within_hostile_bodies(client, engine):
    huge = {"type": "Polygon", "coordinates": [[[-170, -80], [170, -80], [170, 80], [-170, -80]]]}
    assert client.post("/query/within", json=huge).status_code == 400
    assert client.post("/query/within", data="{nope", content_type="application/json").status_code == 400
    assert client.post("/query/within", data=b"x" * 1_100_000,
                       content_type="application/json").status_code == 413
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM land.parcels")).scalar_one() > 0


def test_cli_query_commands(settings, sample_city):
    runner = CliRunner()
    env = {"GISDB_DATABASE_URL": settings.database_url}
    out = runner.invoke(main, ["query", "stats", "parcels", "--by", "ward"], env=env)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["total"]["count"] == sample_city["parcels"]
    out = runner.invoke(main, ["query", "within", "--circle", "108.22,16.06,500",
                               "--layers", "buildings"], env=env)
    assert out.exit_code == 0 and json.loads(out.output)["layers"][0]["layer"] == "buildings"
    out = runner.invoke(main, ["query", "stats", "parcels", "--by", "district"], env=env)
    assert out.exit_code == 1 and "2025" in out.output
    out = runner.invoke(main, ["query", "identify", "--lon", "108.22", "--lat", "16.06"], env=env)
    assert out.exit_code == 0 and "features" in json.loads(out.output)


INDEPENDENT_STATS = """
SELECT u.code, count(*) AS n, sum({measure}) AS m
FROM {table} f JOIN land.admin_units u ON ST_Intersects(u.geom, ST_PointOnSurface(f.geom))
WHERE u.level IN :levels AND u.valid_from <= :at AND (u.valid_to IS NULL OR u.valid_to > :at)
GROUP BY u.code
"""


@pytest.mark.parametrize("layer_id, measure, by, at", [
    ("parcels", "ST_Area(ST_Transform(f.geom, 5899))", "ward", None),
    ("buildings", "ST_Area(ST_Transform(f.geom, 5899))", "district", "2025-06-30"),
    ("roads", "ST_Length(ST_Transform(f.geom, 5899))", "ward", "2025-06-30"),
])
def test_stats_match_an_independent_spatial_join(sample_city, engine, layer_id, measure, by, at):
    """The square lookup (`stats._grouped`) gives exactly what a plain join of each
    feature's point on surface with the units gives, on the sample city's real wards."""
    layer = get_layer(layer_id)
    levels = ("ward", "commune") if by == "ward" else ("district",)
    with engine.connect() as conn:
        result = queries.stats(conn, layer, by, at_date=at)
        day = result["at_date"]
        sql = INDEPENDENT_STATS.format(measure=measure, table=f"{layer.table.schema}.{layer.table.name}")
        expected = {r.code: (r.n, r.m) for r in conn.execute(
            sa.text(sql).bindparams(sa.bindparam("levels", expanding=True)),
            {"levels": list(levels), "at": day})}
        total = conn.execute(sa.select(sa.func.count()).select_from(layer.table)).scalar_one()
    got = {u["code"]: (u["count"], u.get("area_m2", u.get("length_m"))) for u in result["units"]}
    assert set(got) == set(expected) and len(got) > 3
    for code, (n, m) in expected.items():
        assert got[code][0] == n and got[code][1] == pytest.approx(m, abs=0.01)
    assert sum(n for n, _ in expected.values()) + result["unassigned"]["count"] == total
