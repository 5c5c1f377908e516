"""Least privilege: the web app, its vector tiles and its PNG renderer connect as the
read role `gisdb_web` in read-only sessions; that role can read what serving needs and
cannot write, create, reach server files or programs, or become the owner - not even
after switching its session back to read-write."""
from __future__ import annotations

import shutil
import uuid
from dataclasses import replace

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from gisdb.cluster import Cluster
from gisdb.database import create_database, drop_database, web_url_of
from gisdb.engine import make_engine
from gisdb.roles import READ_ROLE, WEB_ROLE
from layers.schema import head_revision, migrate
from served_app import http_get, serving
from tiles.mapnik_postgis import PgSource

INSUFFICIENT_PRIVILEGE = "42501"
READ_ONLY_TRANSACTION = "25006"

# Statements a hole in a request handler could try; each must be refused.
HOSTILE = [
    "INSERT INTO land.zoning (zone_code) VALUES ('X')",
    "UPDATE construction.buildings SET floors = 99",
    "DELETE FROM traffic.roads",
    "TRUNCATE land.parcels",
    "UPDATE meta.layer_versions SET version = 0",
    "SELECT nextval('meta.data_version_seq')",
    "CREATE TABLE public.owned (i int)",
    "CREATE TABLE land.owned (i int)",
    "CREATE TEMP TABLE scratch (i int)",
    "CREATE SCHEMA owned",
    "CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE EXTENSION IF NOT EXISTS pageinspect",
    "DROP TABLE land.parcels",
    "ALTER TABLE land.parcels ADD COLUMN x int",
    "ALTER ROLE gisdb_web SUPERUSER",
    "CREATE ROLE intruder LOGIN",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT pg_read_binary_file('postgresql.conf')",
    "SELECT pg_ls_dir('.')",
    "SELECT lo_import('/etc/passwd')",
    "COPY land.zoning FROM PROGRAM 'id'",
    "COPY (SELECT 1) TO PROGRAM 'id'",
    "COPY (SELECT 1) TO '/tmp/gisdb-web-role-test'",
    "COPY land.zoning FROM '/etc/passwd'",
    "SET ROLE gisdb",
    "SELECT * FROM meta.imports",
    "SELECT * FROM meta.state",
]


def web_user(settings) -> str:
    """The read role these tests expect the web to use: the embedded cluster's, or the
    one GISDB_WEB_DATABASE_URL names (an external database needs it for these tests)."""
    assert settings.web_database_url, ("GISDB_DATABASE_URL is set without "
                                       "GISDB_WEB_DATABASE_URL: no read role to check")
    return make_url(settings.web_database_url).username


def _web_engine(app) -> sa.Engine:
    return app.extensions["gisdb"].engine


def _refused(conn: sa.Connection, statement: str) -> str:
    """Run `statement` in a transaction of its own; returns its SQLSTATE."""
    if conn.in_transaction():
        conn.rollback()
    trans = conn.begin()
    try:
        conn.exec_driver_sql(statement)
    except sa_exc.DBAPIError as exc:
        return exc.orig.sqlstate
    finally:
        trans.rollback()
    pytest.fail(f"the web role was allowed to run: {statement}")


def _tile_engine(app) -> sa.Engine:
    """The app's tile engine (built on the first tile request)."""
    assert app.test_client().get("/tiles/roads/14/13116/7451.mvt").status_code in (200, 204)
    return app.extensions["gisdb.tiles"].engine


def test_web_engines_connect_as_the_read_role(app, settings):
    """The feature engine, the tile engine and Mapnik's parameters all name gisdb_web."""
    for engine in (_web_engine(app), _tile_engine(app)):
        with engine.connect() as conn:
            user, read_only, superuser = conn.execute(sa.text(
                "SELECT current_user, current_setting('default_transaction_read_only'), "
                "rolsuper FROM pg_roles WHERE rolname = current_user")).one()
        assert (user, read_only, superuser) == (web_user(settings), "on", False)
    params = dict(PgSource.from_engine(_tile_engine(app), 1000).params)
    assert params["user"] == web_user(settings)
    assert "default_transaction_read_only=on" in params["dbname"]


@pytest.mark.parametrize("read_write", [False, True], ids=["session", "read-write"])
def test_web_role_cannot_write_create_or_read_files(app, read_write):
    """Refused as is (read-only session or missing privilege), and still refused for
    lack of privilege once the session is switched back to read-write."""
    with _web_engine(app).connect() as conn:
        if read_write:
            conn.exec_driver_sql("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")
            conn.commit()
        codes = {statement: _refused(conn, statement) for statement in HOSTILE}
        if read_write:
            conn.exec_driver_sql("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            conn.commit()
    allowed = {INSUFFICIENT_PRIVILEGE} if read_write else {INSUFFICIENT_PRIVILEGE,
                                                           READ_ONLY_TRANSACTION}
    unexpected = {s: c for s, c in codes.items() if c not in allowed}
    assert not unexpected


def test_web_role_reads_what_serving_needs(app, sample_city):
    """SELECT on every layer table (traffic counts too), the data versions, the raster
    catalog and the search function."""
    with _web_engine(app).connect() as conn:
        for table in ("land.parcels", "land.admin_units", "construction.buildings",
                      "traffic.roads", "traffic.traffic_counts", "meta.layer_versions",
                      "meta.rasters"):
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() >= 0
        assert conn.exec_driver_sql("SELECT meta.fold('Hải Châu')").scalar() == "hai chau"


@pytest.mark.parametrize("url", [
    "/healthz", "/collections", "/collections/parcels?f=json",
    "/collections/buildings/items?limit=5&filter=floors>1",
    "/collections/roads/items?limit=20000",
    "/collections/parcels/queryables", "/search?q=hai%20chau",
    "/query/identify?lon=108.2208&lat=16.0678", "/query/stats?layer=buildings&by=ward",
    "/tiles/parcels,buildings,roads/14/13116/7451.mvt",
    "/tiles/buildings/14/13116/7451.mvt?filter=floors>1",
    "/tiles/parcels,roads/14/13116/7451.png", "/tiles/base/12/3279/1862.png",
    "/rasters", "/map",
])
def test_every_endpoint_serves_as_the_read_role(client, url):
    resp = client.get(url)
    assert resp.status_code in (200, 204), (url, resp.get_data(as_text=True)[:300])


def test_sample_city_is_not_writable_through_the_web_settings(settings):
    """An engine built from the web's settings cannot load data either (the CLI path
    that could be pointed at them by mistake)."""
    engine = make_engine(settings.for_web(), pool_size=1)
    try:
        with engine.connect() as conn:
            assert _refused(conn, "DELETE FROM land.parcels") in (INSUFFICIENT_PRIVILEGE,
                                                                    READ_ONLY_TRANSACTION)
    finally:
        engine.dispose()


@pytest.fixture
def scratch_cluster(base_settings, tmp_path):
    """A second embedded cluster of its own (initdb once), stopped and removed after;
    also with GISDB_DATABASE_URL set (it only needs PostgreSQL's binaries)."""
    cluster = Cluster(replace(base_settings, database_url=None, web_database_url=None,
                              data_dir=tmp_path, pg_tcp_port=None))
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


def test_cluster_creates_missing_roles_on_start(scratch_cluster):
    """A fresh cluster has both roles; a cluster from an earlier version (roles missing
    or altered) gets them back on the next start, running or not."""
    cluster = scratch_cluster
    cluster.start()
    admin = sa.create_engine(cluster.url("postgres"), poolclass=sa.pool.NullPool,
                             isolation_level="AUTOCOMMIT")

    def roles() -> dict:
        with admin.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreatedb, r.rolcreaterole, "
                "pg_has_role(r.rolname, :reader, 'USAGE') AS reads, "
                "(SELECT setconfig FROM pg_db_role_setting s WHERE s.setrole = r.oid "
                " AND s.setdatabase = 0) AS config "
                "FROM pg_roles r WHERE r.rolname IN (:reader, :web)"),
                {"reader": READ_ROLE, "web": WEB_ROLE}).all()
        return {row.rolname: tuple(row[1:]) for row in rows}

    expected = {READ_ROLE: (False, False, False, False, True, None),
                WEB_ROLE: (True, False, False, False, True,
                           ["default_transaction_read_only=on"])}
    try:
        assert roles() == expected
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP ROLE {WEB_ROLE}")
            conn.exec_driver_sql(f"DROP ROLE {READ_ROLE}")
        assert roles() == {}
        cluster.stop()
        cluster.start()                 # a stopped cluster of an earlier version
        assert roles() == expected
        with admin.connect() as conn:
            conn.exec_driver_sql(f"ALTER ROLE {WEB_ROLE} SUPERUSER CREATEDB")
            conn.exec_driver_sql(f"ALTER ROLE {WEB_ROLE} RESET default_transaction_read_only")
            conn.exec_driver_sql(f"REVOKE {READ_ROLE} FROM {WEB_ROLE}")
        cluster.start()                 # already running: only the roles are brought back
        assert roles() == expected
    finally:
        admin.dispose()


@pytest.fixture
def non_superuser_owner(base_settings, tmp_path):
    """A database owned by a login role without superuser or CREATEROLE, as a DBA would
    set up on an external PostGIS (extensions made by the superuser beforehand: the
    test's own URL, which creates databases and extensions for every test)."""
    name = f"gisdb_owner_{uuid.uuid4().hex[:6]}"
    url = create_database(base_settings, name)
    admin = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {name} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB")
        conn.exec_driver_sql(f"ALTER DATABASE {name} OWNER TO {name}")
        conn.exec_driver_sql(f"GRANT CREATE ON SCHEMA public TO {name}")
    try:
        yield replace(base_settings, database_url=make_url(url).set(username=name)
                      .render_as_string(hide_password=False),
                      web_database_url=web_url_of(base_settings, name), data_dir=tmp_path)
    finally:
        admin.dispose()
        drop_database(base_settings, name)
        cluster = sa.create_engine(make_url(url).set(database="postgres"),
                                   poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
        with cluster.connect() as conn:
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {name}")
        cluster.dispose()


def test_owner_needs_no_superuser(non_superuser_owner):
    """Migrations, an edit and its version bump run as a plain owner; the web role then
    reads the edit and still cannot write."""
    owner = make_engine(non_superuser_owner, pool_size=1)
    web = make_engine(non_superuser_owner.for_web(), pool_size=1)
    try:
        assert migrate(owner) == head_revision()
        with owner.begin() as conn:
            assert conn.exec_driver_sql("SELECT rolsuper FROM pg_roles "
                                        "WHERE rolname = current_user").scalar() is False
            conn.exec_driver_sql(
                "INSERT INTO land.zoning (zone_code, planned_use, geom) VALUES ('R1', 'ODT', ST_Multi("
                "ST_MakeEnvelope(108.2, 16.05, 108.21, 16.06, 4326)))")
        with web.connect() as conn:
            assert conn.exec_driver_sql("SELECT current_user").scalar() == web_user(
                non_superuser_owner)
            assert conn.exec_driver_sql("SELECT zone_code FROM land.zoning").scalar() == "R1"
            assert conn.exec_driver_sql("SELECT count(*) FROM meta.layer_versions "
                                        "WHERE table_name = 'land.zoning'").scalar() == 1
            assert _refused(conn, "DELETE FROM land.zoning") in (INSUFFICIENT_PRIVILEGE,
                                                                  READ_ONLY_TRANSACTION)
    finally:
        owner.dispose()
        web.dispose()


def test_shipped_server_connects_as_the_read_role(settings, sample_city, engine, tmp_path):
    """`gisdb serve` as shipped: its feature, tile and PNG connections (gisdb-web,
    gisdb-tiles, mapnik; those opened since it started) are the read role's."""
    web = web_user(settings)
    with engine.connect() as conn:
        started = conn.execute(sa.text("SELECT clock_timestamp()")).scalar()
    with serving(settings, tmp_path / "serve.log", workers=1,
                 env={"GISDB_DATA_DIR": str(tmp_path)}) as (url, _):
        for path in ("/collections/roads/items?limit=2", "/tiles/roads/14/13116/7451.mvt",
                     "/tiles/roads/14/13116/7451.png"):
            assert http_get(url + path, timeout=30)[0] in (200, 204), path
        with engine.connect() as conn:
            users = conn.execute(sa.text(
                "SELECT application_name, array_agg(DISTINCT usename) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name IN "
                "('gisdb-web', 'gisdb-tiles', 'mapnik') AND backend_start >= :t GROUP BY 1"),
                {"t": started}).all()
    assert dict(users) == {name: [web] for name in ("gisdb-web", "gisdb-tiles", "mapnik")}
