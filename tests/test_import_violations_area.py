"""After an import, the rules' violations are refreshed over the area the import changed
(not the whole city), not at all when it changed nothing, and after a first load with
the violations table's secondary indexes built once at the end (`gisdb.bulk`)."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from gisdb.importing import ImportOptions
from import_support import table_schema
from layers.importing import import_layer
from layers.planning.rules import RULES
from layers.planning.violations import refresh_after_import, refresh_violations
from layers.sample import load_sample_city

FAR_AWAY = "ST_SetSRID(ST_MakePoint(108.30, 16.20), 4326)"     # in the sea, east of the city
STALE = ("INSERT INTO planning.violations (rule_id, target_layer, feature_id, severity, first_seen, "
         "last_seen, geom) VALUES ('no_permit', 'buildings', -1, 'high', now() - interval '1 day', "
         "now() - interval '1 day', " + FAR_AWAY + ")")


@pytest.fixture(scope="module")
def city(own_database):
    settings, engine = own_database
    load_sample_city(engine, scale=0.2, seed=5)
    with engine.begin() as conn:
        refresh_violations(conn)
    return settings, engine


def _building_file(engine, tmp_path, floors_delta: int):
    """A GeoJSON of one building with no permit (its code, geometry, use), floors moved."""
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT b.id, b.building_code, b.use, coalesce(b.floors, 1) AS floors, ST_AsGeoJSON(b.geom) AS g "
            "FROM construction.buildings b JOIN planning.violations v "
            "ON v.feature_id = b.id AND v.rule_id = 'no_permit' ORDER BY b.id LIMIT 1")).one()
    feature = {"type": "Feature", "geometry": json.loads(row.g),
               "properties": {"building_code": row.building_code, "use": row.use,
                              "floors": min(row.floors + floors_delta, 200)}}
    path = tmp_path / f"one-{floors_delta}.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return row.id, path


def _last_seen(engine, feature_id: int):
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT last_seen FROM planning.violations "
                                    "WHERE rule_id = 'no_permit' AND feature_id = :f"), {"f": feature_id}).scalar_one()


def test_an_import_refreshes_only_the_area_it_changed(city, tmp_path):
    settings, engine = city
    with engine.begin() as conn:
        conn.execute(sa.text(STALE))         # a stale verdict far from the edit
    try:
        fid, path = _building_file(engine, tmp_path, 1)
        before = _last_seen(engine, fid)
        report = import_layer(engine, settings, "buildings", path, ImportOptions(mode="upsert"))
        assert report.changes["updated"] == 1
        west, south, east, north = report.written_extent
        assert west <= east and south <= north and east - west < 0.01
        assert _last_seen(engine, fid) > before           # the changed building's verdict was refreshed
        with engine.connect() as conn:                    # the far one was not looked at
            assert conn.execute(sa.text("SELECT count(*) FROM planning.violations WHERE feature_id = -1")).scalar() == 1
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM planning.violations WHERE feature_id = -1"))


def test_an_import_that_changes_nothing_refreshes_nothing(city, tmp_path):
    settings, engine = city
    fid, path = _building_file(engine, tmp_path, 2)
    import_layer(engine, settings, "buildings", path, ImportOptions(mode="upsert"))
    seen = _last_seen(engine, fid)
    again = import_layer(engine, settings, "buildings", path, ImportOptions(mode="upsert"))
    assert again.loaded == 1 and again.changes["unchanged"] == 1
    assert again.written_extent is None
    assert _last_seen(engine, fid) == seen


def _state(engine):
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT rule_id, feature_id, measured FROM planning.violations "
                                    "ORDER BY rule_id, feature_id")).all()
    return table_schema(engine, "planning", "violations"), rows


def test_a_first_load_refresh_rebuilds_the_same_indexes_and_finds_the_same(city):
    _, engine = city
    indexes, rows = _state(engine)
    assert any("gist" in d for _, d in indexes[0]) and rows
    with engine.begin() as conn:          # the bulk path: the table emptied, as before a first load
        conn.execute(sa.text("TRUNCATE planning.violations"))
    found = refresh_after_import(engine, "buildings", inserted=10 ** 6)
    after_indexes, after_rows = _state(engine)
    assert after_indexes == indexes
    reading = [r for r in rows if "buildings" in RULES[r.rule_id].layers]    # the rules refreshed
    assert after_rows == reading and found == len(reading)
