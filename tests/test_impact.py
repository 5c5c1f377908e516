"""Road-widening impact (`layers.planning.impact`, `/query/impact`, `gisdb impact`) on the
sample city: the corridor and every affected area are checked against an independent
computation (the fetched geometries, transformed by pyproj and cut by shapely), the ward
and overall totals against the list, the CSV/XLSX/GeoPackage against the JSON, and
hostile requests are JSON 4xx that change nothing."""
from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import numpy as np
import openpyxl
import pyogrio
import pytest
import shapely
import sqlalchemy as sa
from pyproj import Transformer

from gisdb.versions import table_versions
from layers.planning.impact import corridor_impact

STREET = "Đường Phạm Hùng"
WIDTH = 30.0
TO_METRIC = Transformer.from_crs("EPSG:4326", "EPSG:5899", always_xy=True)
GISDB = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "gisdb"
TABLES = ["land.parcels", "construction.buildings", "traffic.roads", "land.admin_units"]


def metric(geom):
    """A lon/lat shapely geometry in EPSG:5899 metres (pyproj, not PostGIS)."""
    return shapely.transform(geom, lambda xy: np.column_stack(TO_METRIC.transform(xy[:, 0], xy[:, 1])))


def geometries(conn, table: str, ids) -> dict[int, shapely.Geometry]:
    """{id: lon/lat geometry} of rows of a layer table, fetched as WKB."""
    schema, name = table.split(".")
    t = sa.table(name, sa.column("id"), sa.column("geom"), schema=schema)
    rows = conn.execute(sa.select(t.c.id, sa.func.ST_AsBinary(t.c.geom)).where(t.c.id.in_(list(ids))))
    return {row[0]: shapely.from_wkb(bytes(row[1])) for row in rows}


@pytest.fixture(scope="module")
def street(engine, sample_city) -> list[int]:
    """The ids of the sample street's segments (several)."""
    with engine.connect() as conn:
        ids = conn.execute(sa.text("SELECT id FROM traffic.roads WHERE name = :n ORDER BY id"),
                           {"n": STREET}).scalars().all()
    assert len(ids) > 3
    return list(ids)


@pytest.fixture(scope="module")
def by_name(engine, street):
    with engine.connect() as conn:
        return corridor_impact(conn, road=STREET, width_m=WIDTH)


def test_a_name_unions_every_segment_of_the_street(by_name, street, engine):
    assert by_name.query["road_ids"] == street
    with engine.connect() as conn:
        lines = geometries(conn, "traffic.roads", street)
    expected = shapely.union_all([metric(g) for g in lines.values()]).buffer(WIDTH / 2, quad_segs=8)
    assert by_name.query["corridor_area_m2"] == pytest.approx(expected.area, rel=0.01)
    corridor = metric(shapely.geometry.shape(by_name.corridor))
    assert corridor.symmetric_difference(expected).area < 0.01 * expected.area


def test_affected_areas_match_an_independent_computation(by_name, engine):
    corridor = metric(shapely.geometry.shape(by_name.corridor))
    assert by_name.totals["parcels"]["count"] > 10 and by_name.totals["buildings"]["count"] > 10
    with engine.connect() as conn:
        for layer, table in (("parcels", "land.parcels"), ("buildings", "construction.buildings")):
            listed = {f["id"]: f for f in by_name.features if f["layer"] == layer}
            shapes = geometries(conn, table, listed)
            for fid, feature in listed.items():
                whole = metric(shapes[fid])
                part = whole.intersection(corridor).area
                assert feature["area_m2"] == pytest.approx(whole.area, rel=0.01), (layer, fid)
                assert feature["affected_m2"] == pytest.approx(part, rel=0.01, abs=0.05), (layer, fid)
                assert feature["share"] == pytest.approx(part / whole.area, abs=0.01)
            # nothing missed: every feature of the layer with a real part inside is listed
            bbox = shapely.geometry.shape(by_name.corridor).bounds
            near = conn.execute(sa.text(f"SELECT id FROM {table} WHERE geom && ST_MakeEnvelope(:a,:b,:c,:d,4326)"),
                                dict(zip("abcd", bbox))).scalars().all()
            inside = {i for i, g in geometries(conn, table, near).items()
                      if metric(g).intersection(corridor).area > 0.01}
            assert inside <= set(listed), (layer, inside - set(listed))


def test_ward_totals_add_up_to_the_totals(by_name, engine):
    for layer in ("parcels", "buildings"):
        assert sum(w[layer]["count"] for w in by_name.wards) == by_name.totals[layer]["count"]
        assert sum(w[layer]["affected_m2"] for w in by_name.wards) == pytest.approx(
            by_name.totals[layer]["affected_m2"], abs=0.1)
        assert by_name.totals[layer]["affected_m2"] == pytest.approx(
            sum(f["affected_m2"] for f in by_name.features if f["layer"] == layer), abs=0.1)
    owners = by_name.totals["parcels_by_owner_type"]
    assert sum(owners.values()) == by_name.totals["parcels"]["count"]
    with engine.connect() as conn:
        current = dict(conn.execute(sa.text(
            "SELECT code, name FROM land.admin_units WHERE level IN ('ward','commune') AND valid_to IS NULL")).all())
        parcels = dict(conn.execute(sa.text("SELECT id, ward_code FROM land.parcels WHERE id = ANY(:ids)"),
                                    {"ids": [f["id"] for f in by_name.features if f["layer"] == "parcels"]}).all())
    for f in by_name.features:
        assert current[f["ward_code"]] == f["ward_name"]
        if f["layer"] == "parcels":                 # a parcel lies wholly in its ward
            assert f["ward_code"] == parcels[f["id"]]


def test_one_segment_by_id_and_the_http_formats(client, street, engine):
    r = client.get(f"/query/impact?road={street[0]}&width=40")
    assert r.status_code == 200 and r.headers["ETag"]
    doc = r.get_json()
    assert doc["query"]["road_ids"] == [street[0]]
    assert doc["features"]["type"] == "FeatureCollection" and doc["features"]["features"]
    assert {"corridor", "wards", "totals"} <= doc.keys()
    assert client.get(f"/query/impact?road={street[0]}&width=40",
                      headers={"If-None-Match": r.headers["ETag"]}).status_code == 304
    listed = [(f["properties"]["layer"], f["properties"]["id"], f["properties"]["affected_m2"])
              for f in doc["features"]["features"]]
    csv_text = client.get(f"/query/impact?road={street[0]}&width=40&f=csv").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(csv_text)))
    assert rows[0][:3] == ["layer", "id", "code"]
    assert [(r[0], int(r[1]), float(r[8])) for r in rows[1:]] == listed
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/query/impact?road={street[0]}&width=40&f=xlsx").data))
    assert book.sheetnames == ["features", "wards", "totals"]
    sheet = [row for row in book["features"].iter_rows(min_row=3, values_only=True)]
    assert [(r[0], r[1], r[8]) for r in sheet] == listed
    totals = dict(book["totals"].iter_rows(min_row=3, values_only=True))
    assert totals["parcels_count"] == doc["totals"]["parcels"]["count"]


def test_a_drawn_corridor_is_posted(client, by_name):
    corridor = by_name.corridor
    doc = client.post("/query/impact", json=corridor).get_json()
    assert [(f["properties"]["layer"], f["properties"]["id"]) for f in doc["features"]["features"]] == \
        [(f["layer"], f["id"]) for f in by_name.features]
    feature = client.post("/query/impact?f=json", json={"type": "Feature", "properties": {}, "geometry": corridor})
    assert feature.status_code == 200
    wrapped = client.post("/query/impact", json={"geometry": corridor})
    assert wrapped.get_json()["totals"] == doc["totals"]


def test_a_drawn_alignment_with_a_width_is_the_road_widened(client, engine, street, by_name, settings, tmp_path):
    """The street's own centreline drawn as a line with the same width gives the same
    corridor and the same site-clearance list as the street by name: over HTTP (line in
    the body, width in the query), as the `impact` process's input and by the command."""
    with engine.connect() as conn:
        line = conn.execute(sa.text(
            "SELECT ST_AsGeoJSON(ST_LineMerge(ST_Union(geom)), 9) FROM traffic.roads WHERE id = ANY(:ids)"),
            {"ids": street}).scalar_one()
    line = json.loads(line)
    assert line["type"] in ("LineString", "MultiLineString")
    expected = [(f["layer"], f["id"]) for f in by_name.features]
    doc = client.post(f"/query/impact?width={WIDTH}", json=line).get_json()
    assert [(f["properties"]["layer"], f["properties"]["id"]) for f in doc["features"]["features"]] == expected
    assert doc["query"]["width_m"] == WIDTH and doc["query"]["type"] == line["type"]
    assert doc["query"]["corridor_area_m2"] == pytest.approx(by_name.query["corridor_area_m2"], rel=1e-3)
    job = client.post("/processes/impact/execution", json={"inputs": {"corridor": line, "width": WIDTH}})
    assert job.status_code == 200, job.get_data(as_text=True)[:300]
    assert [(f["properties"]["layer"], f["properties"]["id"])
            for f in job.get_json()["features"]["features"]] == expected
    (tmp_path / "alignment.geojson").write_text(json.dumps(line))
    done = _gisdb(settings, "impact", "--corridor", "alignment.geojson", "--width", str(WIDTH), cwd=tmp_path)
    assert done.returncode == 0 and f"buildings {by_name.totals['buildings']['count']} " in done.stdout, \
        done.stdout + done.stderr
    refused = _gisdb(settings, "impact", "--corridor", "alignment.geojson", cwd=tmp_path)
    assert refused.returncode != 0 and "width (metres) is required with a line" in refused.stderr


RING = [[108.2, 16.05], [108.21, 16.05], [108.21, 16.06], [108.2, 16.05]]
HOSTILE_GET = [
    "/query/impact", "/query/impact?road=1", "/query/impact?width=20", "/query/impact?road=1&width=0",
    "/query/impact?road=1&width=1e9", "/query/impact?road=1&width=nan", "/query/impact?road=1&width=inf",
    "/query/impact?road=1&width=abc", "/query/impact?road=1&width=20&f=pdf", "/query/impact?road=1&width=20&x=1",
    "/query/impact?road=%27%3B%20DROP%20TABLE%20land.parcels%3B--&width=20",
    "/query/impact?road=" + "x" * 300 + "&width=20", "/query/impact?road=99999999999999999999999&width=20",
    "/query/impact?road=-5&width=20", "/query/impact?road=%00&width=20", "/query/impact?road=1&width=20&at_date=yesterday",
]
HOSTILE_POST = [
    b"", b"not json", b"[1,2]", b'{"type": "Point", "coordinates": [108.2, 16.05]}',
    b'{"type": "LineString", "coordinates": [[108.2, 16.05], [108.3, 16.06]]}',
    json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}).encode(),
    json.dumps({"type": "Polygon", "coordinates": [[[100, 0], [120, 0], [120, 20], [100, 0]]]}).encode(),
    json.dumps({"type": "Polygon", "coordinates": [[[500, 0], [501, 0], [501, 1], [500, 0]]]}).encode(),
    json.dumps({"type": "Polygon", "coordinates": "x"}).encode(), b'{"type": "Polygon"}',
    json.dumps({"geometry": {"type": "Polygon", "coordinates": [RING]}, "layers": "x"}).encode(),
    b"[" * 100_000 + b"]" * 100_000,
    json.dumps({"type": "Polygon", "coordinates": [[[108.2 + i * 1e-6, 16.05] for i in range(12_000)]
                                                   + [[108.2, 16.06], [108.2, 16.05]]]}).encode(),
]


@pytest.mark.parametrize("url", HOSTILE_GET)
def test_hostile_get_is_a_json_4xx_and_changes_nothing(client, engine, url):
    with engine.connect() as conn:
        before = table_versions(conn, TABLES)
    r = client.get(url)
    assert 400 <= r.status_code < 500, (url, r.status_code)
    body = r.get_json()
    assert set(body) == {"code", "description"}
    assert "SELECT" not in body["description"] and "Traceback" not in body["description"]
    with engine.connect() as conn:
        assert table_versions(conn, TABLES) == before


@pytest.mark.parametrize("body", HOSTILE_POST, ids=range(len(HOSTILE_POST)))
def test_hostile_post_is_a_json_4xx(client, body):
    r = client.post("/query/impact", data=body, content_type="application/json")
    assert 400 <= r.status_code < 500, (body[:80], r.status_code)
    assert set(r.get_json()) == {"code", "description"}
    both = client.post("/query/impact?road=1&width=20", json={"type": "Polygon", "coordinates": [RING]})
    assert both.status_code == 400


LINE = {"type": "LineString", "coordinates": [[108.2, 16.05], [108.21, 16.06]]}


@pytest.mark.parametrize("url, body, says", [
    ("/query/impact?width=20", {"type": "Polygon", "coordinates": [RING]}, "polygon has its own width"),
    ("/query/impact", LINE, "width (metres) is required with a line"),
    ("/query/impact?width=0", LINE, "width"),
    ("/query/impact?width=500", LINE, "width"),
    ("/query/impact?width=200", {"type": "LineString", "coordinates": [[105.0, 10.0], [109.0, 21.0]]}, "too large"),
    ("/query/impact?width=20", {"type": "LineString", "coordinates": [[108.2, 16.05]]}, ""),
    ("/query/impact?width=20", {"type": "MultiPoint", "coordinates": [[108.2, 16.05]]}, ""),
])
def test_hostile_alignments_are_a_json_400(client, url, body, says):
    r = client.post(url, json=body)
    assert r.status_code == 400, (url, body, r.status_code)
    assert says in r.get_json()["description"]


def _gisdb(settings, *args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(GISDB), *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), "GISDB_DATABASE_URL": settings.database_url,
                               "GISDB_DATA_DIR": str(settings.data_dir)})


def test_the_command_writes_csv_xlsx_and_geopackage(settings, by_name, tmp_path):
    done = _gisdb(settings, "impact", "--road", STREET, "--width", str(WIDTH), "--out", "clearance.gpkg", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"parcels {by_name.totals['parcels']['count']}" in done.stdout
    frame = pyogrio.read_dataframe(tmp_path / "clearance.gpkg")
    assert len(frame) == len(by_name.features)
    assert frame.crs.to_epsg() == 4326
    assert sorted(frame["affected_m2"].round(2)) == sorted(f["affected_m2"] for f in by_name.features)
    (tmp_path / "corridor.geojson").write_text(json.dumps(by_name.corridor))
    done = _gisdb(settings, "impact", "--corridor", "corridor.geojson", "--out", "c.xlsx", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert openpyxl.load_workbook(tmp_path / "c.xlsx")["features"].max_row == len(by_name.features) + 2
    bad = _gisdb(settings, "impact", "--road", "no such street", "--width", "20", cwd=tmp_path)
    assert bad.returncode == 1 and "NotFound" in bad.stderr and "Traceback" not in bad.stderr
    bad = _gisdb(settings, "impact", "--road", "1", "--width", "20", "--out", "x.doc", cwd=tmp_path)
    assert bad.returncode == 1 and "--out must end" in bad.stderr


def test_a_list_too_long_is_refused(engine, monkeypatch, by_name):
    from gisdb.errors import InvalidParameter
    from layers.planning import impact
    monkeypatch.setattr(impact, "MAX_FEATURES", len(by_name.features) - 1)
    with engine.connect() as conn, pytest.raises(InvalidParameter, match="narrower"):
        impact.corridor_impact(conn, road=STREET, width_m=WIDTH)
