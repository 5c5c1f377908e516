"""The layered model: migrations, constraints, natural keys and data versions."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from gisdb.versions import table_versions
from layers.registry import ALL_LAYERS, get_layer
from layers.schema import current_revision, head_revision

SQUARE = "SRID=4326;MULTIPOLYGON(((108.2 16.05,108.2001 16.05,108.2001 16.0501,108.2 16.0501,108.2 16.05)))"
BOWTIE = "SRID=4326;MULTIPOLYGON(((108.2 16.05,108.2001 16.0501,108.2001 16.05,108.2 16.0501,108.2 16.05)))"


def _parcel(**over):
    row = {"ward_code": "T1", "sheet_no": 1, "parcel_no": 1, "area_m2": 100, "land_use": "ODT",
           "geom": SQUARE}
    row.update(over)
    return row


def _insert_parcel(conn, **over):
    conn.execute(sa.text(
        "INSERT INTO land.parcels (ward_code, sheet_no, parcel_no, area_m2, land_use, geom) "
        "VALUES (:ward_code, :sheet_no, :parcel_no, :area_m2, :land_use, ST_GeomFromEWKT(:geom))"),
        _parcel(**over))


def test_migrations_reach_head(engine):
    assert current_revision(engine) == head_revision()


def test_every_layer_table_exists_with_typed_geometry_and_indexes(engine):
    with engine.connect() as conn:
        for layer in ALL_LAYERS:
            row = conn.execute(sa.text(
                "SELECT type, srid FROM geometry_columns WHERE f_table_schema = :s "
                "AND f_table_name = :t AND f_geometry_column = 'geom'"),
                {"s": layer.schema, "t": layer.table.name}).one()
            assert row.type == layer.geometry_type.upper()
            assert row.srid == 4326
            gist = conn.execute(sa.text(
                "SELECT count(*) FROM pg_indexes WHERE schemaname = :s AND tablename = :t "
                "AND indexdef ILIKE '%USING gist%'"), {"s": layer.schema, "t": layer.table.name}).scalar()
            assert gist >= 2, f"{layer.id} needs GiST indexes on geom and geom_3857"


def test_invalid_geometry_is_rejected(engine):
    with pytest.raises(sa_exc.IntegrityError, match="parcels_geom_valid"):
        with engine.begin() as conn:
            _insert_parcel(conn, geom=BOWTIE, parcel_no=9001)


def test_wrong_srid_is_rejected(engine):
    with pytest.raises(sa_exc.DataError, match="SRID"):
        with engine.begin() as conn:
            _insert_parcel(conn, geom=SQUARE.replace("SRID=4326", "SRID=3857"), parcel_no=9002)


def test_wrong_geometry_type_is_rejected(engine):
    with pytest.raises(sa_exc.DataError, match="(?i)geometry type"):
        with engine.begin() as conn:
            _insert_parcel(conn, geom="SRID=4326;POINT(108.2 16.05)", parcel_no=9003)


def test_duplicate_natural_key_is_rejected(engine):
    with pytest.raises(sa_exc.IntegrityError, match="parcels_natural_key"):
        with engine.begin() as conn:
            _insert_parcel(conn, parcel_no=9004)
            _insert_parcel(conn, parcel_no=9004)


def test_unknown_land_use_code_is_rejected(engine):
    with pytest.raises(sa_exc.IntegrityError, match="parcels_land_use"):
        with engine.begin() as conn:
            _insert_parcel(conn, parcel_no=9005, land_use="XYZ")


def test_foreign_key_from_permit_to_parcel(engine):
    with pytest.raises(sa_exc.IntegrityError, match="permits_parcel_id_fkey"):
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO construction.permits (permit_no, parcel_id, permit_type, issued_on, geom) "
                "VALUES ('1/GPXD-TEST', -1, 'new', '2026-01-01', ST_GeomFromEWKT('SRID=4326;POINT(108.2 16.05)'))"))


def test_old_and_new_admin_units_coexist(engine):
    """The 2025 reform: a unit code can be valid before and a new one after 1 July 2025."""
    with engine.begin() as conn:
        for valid_from, valid_to in (("2000-01-01", "2025-06-30"), ("2025-07-01", None)):
            conn.execute(sa.text(
                "INSERT INTO land.admin_units (code, name, level, valid_from, valid_to, geom) "
                "VALUES ('T-REFORM', 'Phường Thử', 'ward', :f, :t, ST_GeomFromEWKT(:g))"),
                {"f": valid_from, "t": valid_to, "g": SQUARE})
        n = conn.execute(sa.text("SELECT count(*) FROM land.admin_units WHERE code = 'T-REFORM'")).scalar()
        assert n == 2
        conn.execute(sa.text("DELETE FROM land.admin_units WHERE code = 'T-REFORM'"))


def test_layer_version_changes_on_every_kind_of_edit(engine):
    name = get_layer("parcels").table_name
    with engine.connect() as conn:
        v0 = table_versions(conn, [name])[name]
    with engine.begin() as conn:
        _insert_parcel(conn, parcel_no=9100)
    with engine.connect() as conn:
        v1 = table_versions(conn, [name])[name]
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE land.parcels SET area_m2 = 101 WHERE ward_code = 'T1' AND parcel_no = 9100"))
    with engine.connect() as conn:
        v2 = table_versions(conn, [name])[name]
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM land.parcels WHERE ward_code = 'T1' AND parcel_no = 9100"))
    with engine.connect() as conn:
        v3 = table_versions(conn, [name])[name]
        other = table_versions(conn, ["traffic.roads"])["traffic.roads"]
    assert v0 < v1 < v2 < v3
    with engine.connect() as conn:
        assert table_versions(conn, ["traffic.roads"])["traffic.roads"] == other


def test_generated_mercator_geometry_follows_geom(engine):
    with engine.begin() as conn:
        _insert_parcel(conn, parcel_no=9200)
        x = conn.execute(sa.text(
            "SELECT ST_XMin(geom_3857) FROM land.parcels WHERE ward_code = 'T1' AND parcel_no = 9200")).scalar()
        conn.execute(sa.text("DELETE FROM land.parcels WHERE ward_code = 'T1' AND parcel_no = 9200"))
    assert x == pytest.approx(108.2 * 20037508.342789244 / 180, abs=0.01)
