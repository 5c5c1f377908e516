"""The violations layer over a sample city of this module's own: a full refresh holds
exactly the planted irregularities; it is served like every layer (items, filters,
tiles) and read-only; the real write paths (API, `gisdb edit`, an import) that fix a
building clear its violation and keep the others' first-seen times; `rules_stale`
notices plain SQL; the compliance verdict over HTTP; `gisdb check`."""
from __future__ import annotations

import gzip
import json
import subprocess
import time
from dataclasses import replace

import mapbox_vector_tile
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from access_fixtures import make_key
from clients import require
from edit_support import PATCH, auth, building, layer_digest
from gisdb.importing import ImportOptions
from layers.importing import import_layer
from layers.planning.violations import refresh_violations, rules_stale
from layers.sample import load_sample_city, planted_irregularities
from tiles.grid import lonlat_to_tile

CITY = dict(scale=0.3, seed=4)


@pytest.fixture(scope="module")
def city(own_database):
    """(settings, engine) of this module's database: the sample city, violations refreshed."""
    settings, engine = own_database
    load_sample_city(engine, **CITY)
    with engine.begin() as conn:
        refresh_violations(conn)
    return settings, engine


@pytest.fixture(scope="module")
def engine(city):
    return city[1]


@pytest.fixture(scope="module")
def wapp(city):
    from webmap.app import create_app
    application = create_app({"TESTING": True, "SETTINGS": replace(city[0], writes=True)})
    yield application
    application.extensions["gisdb"].dispose()


@pytest.fixture(scope="module")
def wc(wapp):
    return wapp.test_client()


@pytest.fixture(scope="module")
def key(engine, wapp):
    return make_key(engine, "planner-edit", "edit")


def _violations(engine, **where) -> list:
    clause = " AND ".join(f"{k} = :{k}" for k in where) or "true"
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT rule_id, feature_id, first_seen, last_seen FROM planning.violations "
                                    "WHERE " + clause), where).all()


def _over_floor(engine, skip=()) -> tuple[int, int, str]:
    """A building above its zone's floors: (id, zone max floors, code)."""
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT b.id, z.max_floors, b.building_code FROM planning.violations v "
            "JOIN construction.buildings b ON b.id = v.feature_id "
            "JOIN land.zoning z ON ST_Intersects(z.geom, ST_PointOnSurface(b.geom)) "
            "WHERE v.rule_id = 'zoning_floors' AND NOT b.id = ANY(:skip) ORDER BY b.id LIMIT 1"),
            {"skip": list(skip)}).one()


def test_full_refresh_holds_exactly_the_planted(engine):
    found = {(r.rule_id, r.feature_id) for r in _violations(engine)}
    assert found == planted_irregularities(**CITY)


def test_layer_items_filter_on_rule_severity_and_ward(wc, engine):
    doc = wc.get("/collections/violations/items?rule_id=no_permit&limit=5").get_json()
    assert doc["features"] and {f["properties"]["rule_id"] for f in doc["features"]} == {"no_permit"}
    high = wc.get("/collections/violations/items?severity=low").get_json()["features"]
    assert high and {f["properties"]["rule_id"] for f in high} == {"permit_outside_parcel"}
    ward = doc["features"][0]["properties"]["ward_code"]
    cql = wc.get(f"/collections/violations/items?filter=ward_code='{ward}' AND severity='high'").get_json()
    assert cql["features"] and {f["properties"]["ward_code"] for f in cql["features"]} == {ward}
    queryables = wc.get("/collections/violations/queryables").get_json()["properties"]
    assert {"rule_id", "severity", "ward_code"} <= set(queryables)


def test_layer_tiles_carry_the_violations(wc, engine):
    with engine.connect() as conn:
        lon, lat = conn.execute(sa.text("SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) c "
                                        "FROM planning.violations WHERE rule_id = 'no_permit' LIMIT 1) s")).one()
    x, y = lonlat_to_tile(lon, lat, 16)
    resp = wc.get(f"/collections/violations/tiles/WebMercatorQuad/16/{y}/{x}")
    assert resp.status_code == 200
    data = gzip.decompress(resp.data) if resp.headers.get("Content-Encoding") == "gzip" else resp.data
    features = mapbox_vector_tile.decode(data)["violations"]["features"]
    assert "no_permit" in {f["properties"]["rule_id"] for f in features}


def test_layer_is_read_only_for_the_write_api(wc, key, engine):
    before = layer_digest(engine, "violations")
    resp = wc.post("/collections/violations/items", data=json.dumps(building("WR-V-1")),
                   headers=auth(key, **{"Content-Type": "application/geo+json"}))
    assert resp.status_code == 403 and set(resp.get_json()) >= {"code", "description"}
    assert layer_digest(engine, "violations") == before


def test_api_edit_fixing_a_building_clears_its_violation(wc, key, engine):
    fid, limit, _code = _over_floor(engine)
    others = {r.rule_id: r.first_seen for r in _violations(engine) if r.rule_id == "no_permit"}
    etag = wc.get(f"/collections/buildings/items/{fid}").headers["ETag"]
    started = time.perf_counter()
    resp = wc.patch(f"/collections/buildings/items/{fid}", data=json.dumps({"properties": {"floors": limit}}),
                    headers=auth(key, **{"Content-Type": PATCH, "If-Match": etag}))
    elapsed = time.perf_counter() - started
    assert resp.status_code == 204, resp.get_json()
    assert not _violations(engine, rule_id="zoning_floors", feature_id=fid)
    assert {r.rule_id: r.first_seen for r in _violations(engine) if r.rule_id == "no_permit"} == others
    assert elapsed < 5          # the write and its refresh (the benchmark measures the city of 35)
    assert "zoning_floors" not in rules_stale(engine.connect())


def test_cli_edit_fixing_a_building_clears_its_violation(city, engine, monkeypatch):
    from scripts.cli import main
    fid, limit, _code = _over_floor(engine)
    monkeypatch.setenv("GISDB_DATABASE_URL", city[0].database_url)
    result = CliRunner().invoke(main, ["edit", "buildings", str(fid), "--set", f"floors={limit}"])
    assert result.exit_code == 0, result.output
    assert not _violations(engine, rule_id="zoning_floors", feature_id=fid)


def test_import_fixing_a_building_clears_its_violation(city, engine, tmp_path):
    fid, limit, code = _over_floor(engine)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT use, ST_AsGeoJSON(geom) g FROM construction.buildings WHERE id = :i"),
                           {"i": fid}).one()
    feature = {"type": "Feature", "geometry": json.loads(row.g),
               "properties": {"building_code": code, "use": row.use, "floors": limit}}
    path = tmp_path / "fixed.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    report = import_layer(engine, city[0], "buildings", path, ImportOptions(mode="upsert"))
    assert report.loaded == 1
    assert not _violations(engine, rule_id="zoning_floors", feature_id=fid)


def test_plain_sql_makes_rules_stale_until_refreshed(engine):
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE land.zoning SET max_floors = max_floors WHERE id = (SELECT min(id) FROM land.zoning)"))
    with engine.connect() as conn:
        stale = rules_stale(conn)
    assert "zoning_floors" in stale and "no_permit" not in stale
    with engine.begin() as conn:
        refresh_violations(conn, stale)
        assert rules_stale(conn) == []


def test_compliance_in_plain_words(wc, engine):
    fid, limit, _code = _over_floor(engine)
    doc = wc.get(f"/collections/buildings/items/{fid}/compliance").get_json()
    assert doc["complies"] is False
    floors = next(f for f in doc["findings"] if f["rule_id"] == "zoning_floors")
    assert floors["limit_value"] == limit and f"cho phép tối đa {limit}" in floors["text_vi"]
    assert floors["text_en"].startswith("floors ") and f"of {limit} allowed by zone" in floors["text_en"]
    no_permit = _violations(engine, rule_id="no_permit")[0].feature_id
    texts = wc.get(f"/collections/buildings/items/{no_permit}/compliance").get_json()["findings"]
    assert "no permit on record" in [f["text_en"] for f in texts]
    with engine.connect() as conn:
        clean = conn.execute(sa.text("SELECT min(id) FROM construction.buildings b WHERE NOT EXISTS "
                                     "(SELECT 1 FROM planning.violations v WHERE v.target_layer = 'buildings' "
                                     "AND v.feature_id = b.id)")).scalar()
    assert wc.get(f"/collections/buildings/items/{clean}/compliance").get_json() == {
        "layer": "buildings", "id": clean, "complies": True, "findings": []}


@pytest.mark.parametrize("path, status", [
    ("/collections/buildings/items/abc/compliance", 404),
    ("/collections/buildings/items/-1/compliance", 404),
    ("/collections/buildings/items/1%27%20OR%201=1/compliance", 404),
    ("/collections/buildings/items/99999999999/compliance", 404),
    ("/collections/buildings/items/99999999999999999999999/compliance", 404),
    ("/collections/nope/items/1/compliance", 404),
    ("/collections/buildings/items/1/compliance?f=xml", 400),
    ("/collections/buildings/items/1/compliance?rule=x", 400),
])
def test_compliance_refuses_hostile_requests(wc, path, status):
    resp = wc.get(path)
    assert resp.status_code == status and resp.is_json
    body = resp.get_json()
    assert set(body) >= {"code", "description"} and "SELECT" not in body["description"]


def test_check_command_prints_and_writes(city, engine, tmp_path, monkeypatch):
    from scripts.cli import main
    monkeypatch.setenv("GISDB_DATABASE_URL", city[0].database_url)
    runner = CliRunner()
    out = tmp_path / "floors.gpkg"
    result = runner.invoke(main, ["check", "zoning_floors", "no_permit", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        counts = dict(conn.execute(sa.text("SELECT rule_id, count(*) FROM planning.violations "
                                           "WHERE rule_id IN ('zoning_floors', 'no_permit') GROUP BY 1")).all())
    for rule_id, count in counts.items():
        assert any(line.split()[:2] == [rule_id, f"{count:,}"] for line in result.output.splitlines())
    require("ogrinfo")
    info = subprocess.run(["ogrinfo", "-so", "-al", str(out)], capture_output=True, text=True, check=True).stdout
    assert f"Feature Count: {sum(counts.values())}" in info and "rule_id" in info
    csv_out = tmp_path / "ward.csv"
    ward = _violations(engine, rule_id="no_permit")
    assert runner.invoke(main, ["check", "--ward", "x", "--out", str(csv_out)]).exit_code == 0
    assert csv_out.read_text().count("\n") == 1          # the header alone: no ward "x"
    assert ward
    bad = runner.invoke(main, ["check", "no_such_rule"])
    assert bad.exit_code == 1 and "unknown rule 'no_such_rule'" in bad.output
    assert runner.invoke(main, ["check", "--out", str(tmp_path / "x.txt")]).exit_code == 1
