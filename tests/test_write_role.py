"""The write role: `gisdb_writer` (member of `gisdb_editor`) changes the layers' rows and
nothing else - no DDL, no TRUNCATE, no meta table besides appending to the audit log,
no secrets - and its changes still bump the layers' data versions (a SECURITY DEFINER
trigger), so caches and ETags follow its edits."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from gisdb.engine import make_write_engine
from gisdb.roles import EDIT_ROLE, WRITE_ROLE
from gisdb.versions import table_versions
from test_roles import INSUFFICIENT_PRIVILEGE, _refused

REFUSED = [
    "DROP TABLE land.parcels",
    "ALTER TABLE land.parcels ADD COLUMN x int",
    "ALTER TABLE traffic.intersections DISABLE TRIGGER ALL",
    "CREATE TABLE land.owned (i int)",
    "CREATE TABLE public.owned (i int)",
    "CREATE TEMP TABLE scratch (i int)",
    "CREATE SCHEMA owned",
    "CREATE INDEX ON land.parcels (area_m2)",
    "DROP TRIGGER bump_version_rows ON traffic.intersections",
    "TRUNCATE land.parcels",
    "TRUNCATE traffic.intersections",
    "UPDATE meta.layer_versions SET version = 0",
    "INSERT INTO meta.layer_versions VALUES ('x.y', 1, now())",
    "DELETE FROM meta.layer_versions",
    "SELECT nextval('meta.data_version_seq')",
    "SELECT * FROM meta.api_keys",
    "INSERT INTO meta.grants (grantee, target, role) VALUES ('me', '*', 'admin')",
    "INSERT INTO meta.hidden_layers (layer_id) VALUES ('roads')",
    "DELETE FROM meta.hidden_layers",
    "INSERT INTO meta.users (name) VALUES ('intruder')",
    "SELECT * FROM meta.imports",
    "UPDATE meta.state SET value = 'x'",
    "CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE OR REPLACE FUNCTION meta.bump_layer_version() RETURNS trigger "
    "LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'",
    "ALTER ROLE gisdb_writer SUPERUSER",
    "CREATE ROLE intruder LOGIN",
    "SET ROLE gisdb",
    "SELECT pg_read_file('/etc/passwd')",
    "COPY traffic.intersections FROM PROGRAM 'id'",
    "COPY (SELECT 1) TO '/tmp/gisdb-write-role-test'",
]


@pytest.fixture(scope="module")
def writer(settings, sample_city):
    """An engine of the write role on the test database."""
    engine = make_write_engine(settings, pool_size=1)
    yield engine
    engine.dispose()


def test_write_engine_is_the_write_role(writer):
    with writer.connect() as conn:
        user, superuser, member = conn.execute(sa.text(
            "SELECT current_user, rolsuper, pg_has_role(current_user, :e, 'MEMBER') "
            "FROM pg_roles WHERE rolname = current_user"), {"e": EDIT_ROLE}).one()
    assert (user, superuser, member) == (WRITE_ROLE, False, True)


@pytest.mark.parametrize("statement", REFUSED)
def test_write_role_cannot_change_the_schema_or_meta(writer, statement):
    with writer.connect() as conn:
        assert _refused(conn, statement) == INSUFFICIENT_PRIVILEGE, statement


def test_write_role_changes_rows_and_versions_follow(writer, engine):
    """INSERT, UPDATE and DELETE on a layer table work, and bump its data version."""
    table = "traffic.intersections"
    with engine.connect() as conn:
        before = table_versions(conn, [table])[table]
    with writer.begin() as conn:
        new_id = conn.execute(sa.text(
            "INSERT INTO traffic.intersections (node_code, name, geom) VALUES "
            "('WRITE-TEST', 'Ngã tư thử', ST_SetSRID(ST_MakePoint(108.2, 16.05), 4326)) "
            "RETURNING id")).scalar_one()
    with writer.begin() as conn:
        assert conn.execute(sa.text("UPDATE traffic.intersections SET legs = 4 "
                                    "WHERE id = :i"), {"i": new_id}).rowcount == 1
    with engine.connect() as conn:
        middle = table_versions(conn, [table])[table]
        assert conn.execute(sa.text("SELECT legs FROM traffic.intersections WHERE id = :i"),
                            {"i": new_id}).scalar() == 4
    with writer.begin() as conn:
        conn.execute(sa.text("DELETE FROM traffic.intersections WHERE id = :i"), {"i": new_id})
    with engine.connect() as conn:
        after = table_versions(conn, [table])[table]
    assert before < middle < after
