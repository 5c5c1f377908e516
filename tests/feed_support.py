"""Shared pieces of the change-feed tests: a database of their own (their edits never
disturb the sample city other tests count), the app on it, and plain-SQL writers."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from fresh_databases import migrated_database
from gisdb.engine import make_engine

SQUARE = ("SRID=4326;MULTIPOLYGON(((108.21 16.05,108.211 16.05,108.211 16.051,108.21 16.051,"
          "108.21 16.05)))")


@pytest.fixture(scope="module")
def feed_settings(base_settings, tmp_path_factory):
    """A fresh migrated database for one feed test module."""
    with migrated_database(base_settings, "gisdb_feed", tmp_path_factory.mktemp("feeddata")) as s:
        yield s


@pytest.fixture(scope="module")
def feed_engine(feed_settings):
    engine = make_engine(feed_settings, pool_size=4)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def feed_app(feed_settings):
    from webmap.app import create_app
    application = create_app({"TESTING": True, "SETTINGS": feed_settings})
    yield application
    application.extensions["gisdb"].engine.dispose()


@pytest.fixture
def feed_client(feed_app):
    return feed_app.test_client()


def add_parcel(conn, parcel_no: int, land_use: str = "ODT") -> int:
    """Insert one parcel by plain SQL; returns its id."""
    return conn.execute(sa.text(
        "INSERT INTO land.parcels (ward_code, sheet_no, parcel_no, area_m2, land_use, geom) "
        "VALUES ('20194', 7, :n, 120.5, :lu, ST_GeomFromEWKT(:g)) RETURNING id"),
        {"n": parcel_no, "lu": land_use, "g": SQUARE}).scalar_one()


def add_incident(conn, code: str, severity: int = 2) -> int:
    """Insert one traffic incident by plain SQL (another layer than the parcels: two
    writers of one layer queue on its data version row, two layers' writers do not)."""
    return conn.execute(sa.text(
        "INSERT INTO traffic.incidents (incident_code, occurred_at, incident_type, severity, geom) "
        "VALUES (:c, now(), 'collision', :s, ST_GeomFromEWKT('SRID=4326;POINT(108.212 16.055)')) "
        "RETURNING id"), {"c": code, "s": severity}).scalar_one()


def committed_changes(engine, layers=("parcels",), after: int = 0) -> list[int]:
    """Change ids of the committed changes of `layers` after change id `after`."""
    with engine.connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT change_id FROM history.changes WHERE layer = ANY(:l) AND change_id > :a "
            "ORDER BY change_id"), {"l": list(layers), "a": after}).scalars())


def follow(get, path: str, since: str | None = None, limit: int = 100) -> tuple[list[dict], str]:
    """Every change of a feed path from `since` to its end, following `next`;
    `get(url) -> (status, json)` is the HTTP client."""
    seen, token = [], since
    while True:
        query = f"?limit={limit}" + (f"&since={token}" if token else "")
        sep = "&" if "?" in path else "?"
        status, doc = get(path + (query.replace("?", sep, 1)))
        assert status == 200, doc
        seen += doc["changes"]
        token = doc["next"]
        if not doc["more"]:
            return seen, token
