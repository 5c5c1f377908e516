"""The write core (`gisdb.editing`) against the real database: the importer's
validation on edits, the version check, attribution and the audit row in the same
transaction, and a refused write that changes nothing."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from edit_support import TESTER, building, layer_digest
from gisdb.crs import crs_from_uri
from gisdb.editing import Batch, parse_change, write_batches
from gisdb.errors import FeatureConflict, InvalidFeature, NotFound, PreconditionFailed, UnprocessableFeature
from layers.importing import import_target

CRS84 = crs_from_uri(None)


def _write(engine, layer_id, op, body=None, *, fid=None, expected=None, srid=4326, crs=CRS84):
    target = import_target(layer_id)
    change = parse_change(op, body, columns=target.column_names, crs=crs, feature_id=fid,
                          expected=expected)
    with engine.begin() as conn:
        return write_batches(conn, TESTER, [Batch(target, op, [change], srid)])[0]


def _row(engine, fid):
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT building_code, floors, use, status, xmin::text AS v, ST_AsText(geom) AS wkt "
            "FROM construction.buildings WHERE id = :i"), {"i": fid}).mappings().one_or_none()


def test_create_update_replace_delete(engine):
    made = _write(engine, "buildings", "create", building("WR-CORE-1", floors=4))
    row = _row(engine, made.feature_id)
    assert row["floors"] == 4 and row["status"] == "existing" and row["v"] == made.version
    upd = _write(engine, "buildings", "update", {"properties": {"floors": 7}},
                 fid=made.feature_id, expected=made.version)
    row = _row(engine, made.feature_id)
    assert row["floors"] == 7 and row["use"] == "residential" and row["v"] == upd.version != made.version
    rep = _write(engine, "buildings", "replace", building("WR-CORE-1", use="office"),
                 fid=made.feature_id, expected=upd.version)
    assert _row(engine, made.feature_id)["use"] == "office"
    with pytest.raises(PreconditionFailed):
        _write(engine, "buildings", "delete", fid=made.feature_id, expected=upd.version)
    _write(engine, "buildings", "delete", fid=made.feature_id, expected=rep.version)
    assert _row(engine, made.feature_id) is None
    with engine.connect() as conn:
        audit = conn.execute(sa.text(
            "SELECT action, actor, source, comment, feature_ids FROM meta.audit "
            "WHERE :i = ANY(feature_ids) ORDER BY id"), {"i": made.feature_id}).all()
    assert [a.action for a in audit] == ["create", "update", "replace", "delete"]
    assert {(a.actor, a.source, a.comment) for a in audit} == {("tester", "cli", "test")}


def test_invalid_geometry_repaired_like_the_importer(engine):
    bowtie = {"type": "Polygon", "coordinates": [[[108.22, 16.06], [108.2203, 16.0603],
                                                  [108.2203, 16.06], [108.22, 16.0603], [108.22, 16.06]]]}
    made = _write(engine, "buildings", "create", {**building("WR-CORE-BOW"), "geometry": bowtie})
    assert "invalid_geometry_repaired" in made.repairs
    assert _row(engine, made.feature_id)["wkt"].startswith("MULTIPOLYGON")


def test_crs_5899_input(engine):
    # about 108.215 E, 16.06 N in VN-2000 / TM-3 107-45
    x, y = 553_520.0, 1_775_870.0
    ring = [[x, y], [x + 30, y], [x + 30, y + 30], [x, y + 30], [x, y]]
    body = {**building("WR-CORE-5899"), "geometry": {"type": "Polygon", "coordinates": [ring]}}
    made = _write(engine, "buildings", "create", body, srid=5899,
                  crs=crs_from_uri("http://www.opengis.net/def/crs/EPSG/0/5899"))
    with engine.connect() as conn:
        lon, lat = conn.execute(sa.text("SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) "
                                        "FROM construction.buildings WHERE id = :i"),
                                {"i": made.feature_id}).one()
    assert 108.0 < lon < 108.4 and 15.9 < lat < 16.2


@pytest.mark.parametrize("body, error, field, rule", [
    (building("WR-BAD-1", floors="three"), InvalidFeature, "floors", "value_does_not_fit"),
    (building("WR-BAD-2", floors=500), UnprocessableFeature, "floors", "value_not_allowed"),
    (building("WR-BAD-3", use="castle"), UnprocessableFeature, "use", "value_not_allowed"),
    (building("WR-BAD-4", lon=106.70, lat=10.78), UnprocessableFeature, "geometry", "outside_region"),
    (building("WR-BAD-5", parcel_id=999999999), UnprocessableFeature, "parcel_id", "unknown_reference"),
    ({**building("WR-BAD-6"), "geometry": None}, InvalidFeature, "geometry", "geometry_missing"),
    ({**building("WR-BAD-7"), "geometry": {"type": "Point", "coordinates": [108.2, 16.0]}},
     InvalidFeature, "geometry", "wrong_geometry_type"),
    ({**building("WR-BAD-8"), "geometry": {"type": "Polygon", "coordinates": "x"}},
     InvalidFeature, "geometry", "geometry_unreadable"),
])
def test_refused_changes_nothing(engine, body, error, field, rule):
    before = layer_digest(engine, "buildings")
    with pytest.raises(error) as caught:
        _write(engine, "buildings", "create", body)
    assert (caught.value.field, caught.value.rule) == (field, rule)
    assert layer_digest(engine, "buildings") == before


def test_unknown_property_and_wrong_type_refused_before_the_database():
    target = import_target("buildings")
    with pytest.raises(InvalidFeature) as caught:
        parse_change("create", building("WR-X", colour="red"), columns=target.column_names, crs=CRS84)
    assert (caught.value.field, caught.value.rule) == ("colour", "unknown_property")
    with pytest.raises(InvalidFeature) as caught:
        parse_change("create", building("WR-X", name={"a": 1}), columns=target.column_names, crs=CRS84)
    assert caught.value.rule == "wrong_type"
    with pytest.raises(InvalidFeature) as caught:
        parse_change("replace", {**building("WR-X"), "id": 5}, columns=target.column_names,
                     crs=CRS84, feature_id=6)
    assert (caught.value.field, caught.value.rule) == ("id", "id_mismatch")


def test_duplicate_natural_key_conflicts(engine):
    made = _write(engine, "buildings", "create", building("WR-DUP"))
    before = layer_digest(engine, "buildings")
    with pytest.raises(FeatureConflict) as caught:
        _write(engine, "buildings", "create", building("WR-DUP"))
    assert caught.value.field == "building_code"
    other = _write(engine, "buildings", "create", building("WR-DUP-2"))
    before = layer_digest(engine, "buildings")
    with pytest.raises(FeatureConflict):
        _write(engine, "buildings", "update", {"properties": {"building_code": "WR-DUP"}},
               fid=other.feature_id, expected=other.version)
    assert layer_digest(engine, "buildings") == before
    assert made.feature_id != other.feature_id


def test_missing_feature_is_not_found(engine):
    with pytest.raises(NotFound):
        _write(engine, "buildings", "update", {"properties": {"floors": 2}}, fid=987654321, expected="*")
    with pytest.raises(NotFound):
        _write(engine, "buildings", "delete", fid=987654321, expected="*")
