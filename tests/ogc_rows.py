"""Rows the OGC API tests own: buildings on a grid in central Da Nang and permits with
dates, marked by their codes (`OGC-...`) so tests never depend on the sample city."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from layers.registry import get_layer

LON0, LAT0, STEP = 108.20, 16.05, 0.001
GRID = 15                       # 15 x 15 = 225 buildings


def square(lon: float, lat: float, size: float = 0.0004) -> str:
    return (f"SRID=4326;MULTIPOLYGON((({lon} {lat},{lon + size} {lat},{lon + size} {lat + size},"
            f"{lon} {lat + size},{lon} {lat})))")


def insert_rows(engine: sa.Engine) -> dict[str, int]:
    buildings = get_layer("buildings").table
    permits = get_layer("permits").table
    uses = ("residential", "commercial", "office", "mixed")
    with engine.begin() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(buildings)
                        .where(buildings.c.building_code.like("OGC-%"))).scalar():
            return counts(engine)
        rows = []
        for i in range(GRID):
            for j in range(GRID):
                n = i * GRID + j
                rows.append({"building_code": f"OGC-{n:04d}", "floors": 1 + n % 9,
                             "height_m": 3.5 * (1 + n % 9), "use": uses[n % 4],
                             "year_built": 1990 + n % 30, "status": "existing",
                             "name": "Nhà Đà Nẵng" if n % 10 == 0 else None,
                             "address": f"{n} Bạch Đằng",
                             "geom": square(LON0 + i * STEP, LAT0 + j * STEP)})
        conn.execute(sa.insert(buildings), rows)
        prow = [{"permit_no": f"OGC-{k:03d}/GPXD", "permit_type": "new", "status": "issued",
                 "applicant": "Công ty O'Brien" if k == 0 else f"Applicant {k}",
                 "issued_on": dt.date(2020, 1, 1) + dt.timedelta(days=30 * k),
                 "permitted_floors": 1 + k % 5,
                 "geom": f"SRID=4326;POINT({LON0 + k * STEP} {LAT0})"} for k in range(40)]
        conn.execute(sa.insert(permits), prow)
    return counts(engine)


def counts(engine: sa.Engine) -> dict[str, int]:
    out = {}
    with engine.connect() as conn:
        for lid in ("buildings", "permits"):
            t = get_layer(lid).table
            out[lid] = conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
    return out


# ---- fixtures shared by tests/test_ogc_*.py (imported there) ------------------------
# The OGC tests own a database of their own, so their rows never change the counts
# that other tests expect from the sample city.

import pytest  # noqa: E402

from fresh_databases import migrated_database  # noqa: E402


@pytest.fixture(scope="session")
def ogc_settings(base_settings, tmp_path_factory):
    """A database of its own: the rows of `insert_rows`, none of the sample city."""
    with migrated_database(base_settings, "gisdb_test_ogc", tmp_path_factory.mktemp("ogc-data")) as s:
        yield s


@pytest.fixture(scope="session")
def ogc_engine(ogc_settings):
    from gisdb.engine import make_engine
    eng = make_engine(ogc_settings)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def ogc_counts(ogc_engine) -> dict[str, int]:
    return insert_rows(ogc_engine)


@pytest.fixture(scope="session")
def ogc_app(ogc_settings, ogc_counts):
    from webmap.app import create_app
    application = create_app({"TESTING": True, "SETTINGS": ogc_settings})
    yield application
    application.extensions["gisdb"].engine.dispose()


@pytest.fixture
def ogc_client(ogc_app):
    return ogc_app.test_client()


def db_count(engine: sa.Engine, layer_id: str, *where) -> int:
    t = get_layer(layer_id).table
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(t).where(*where)).scalar()
