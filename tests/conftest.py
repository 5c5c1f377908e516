"""Fixtures: a real PostGIS. Each test session gets its own fresh database (so parallel
runs never collide), migrated, with the sample city loaded once."""
from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from clients import require
from fresh_databases import migrated_database
from gisdb.cluster import Cluster
from gisdb.engine import make_engine
from gisdb.settings import Settings

PROJECT = Path(__file__).resolve().parents[1]
REALDATA = PROJECT.parent / "shared" / "realdata"


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    settings = Settings.from_env()
    if settings.embedded:
        Cluster(settings).start()
    return settings


@pytest.fixture(scope="session")
def settings(base_settings, tmp_path_factory) -> Settings:
    """Settings of the test database (fresh, migrated, empty until `sample_city`)."""
    with migrated_database(base_settings, "gisdb_test", tmp_path_factory.mktemp("data")) as s:
        yield s


@pytest.fixture(scope="session")
def engine(settings) -> sa.Engine:
    eng = make_engine(settings)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def sample_city(engine) -> dict[str, int]:
    """Loads the default sample city once per session, with its violations layer;
    returns counts per layer."""
    from layers.planning.violations import refresh_everywhere
    from layers.sample import load_sample_city
    counts = load_sample_city(engine, scale=1, seed=1)
    counts["violations"] = refresh_everywhere(engine)
    return counts


@pytest.fixture(scope="session")
def app(settings, sample_city):
    from webmap.app import create_app
    application = create_app({"TESTING": True, "SETTINGS": settings})
    yield application
    application.extensions["gisdb"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def own_database(base_settings, tmp_path_factory):
    """(settings, engine) of a fresh, migrated, empty database of this test module's own,
    for tests that write and must not change the shared sample city."""
    with migrated_database(base_settings, "gisdb_own", tmp_path_factory.mktemp("own")) as s:
        eng = make_engine(s)
        yield s, eng
        eng.dispose()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright, for the map's browser tests."""
    from map_session import chromium
    with chromium() as chromium_browser:
        yield chromium_browser


@pytest.fixture(scope="module")
def live_url(app):
    """The test app served over HTTP in a thread, for the map's browser tests."""
    from served_app import in_thread
    with in_thread(app) as host:
        yield f"http://{host}"


@pytest.fixture
def session(browser, live_url):
    """One browser tab on the map (`map_session.MapSession`), closed after the test."""
    from map_session import MapSession
    s = MapSession(browser, live_url)
    yield s
    s.context.close()


@pytest.fixture(scope="session")
def write_app(settings, sample_city):
    """The app with GISDB_WRITES on (writes run as the write role)."""
    from dataclasses import replace

    from webmap.app import create_app
    application = create_app({"TESTING": True, "SETTINGS": replace(settings, writes=True)})
    yield application
    application.extensions["gisdb"].dispose()


@pytest.fixture(scope="session")
def edit_keys(engine, write_app) -> dict[str, str]:
    """API keys with the edit, read and admin roles on every layer."""
    from access_fixtures import make_key
    return {role: make_key(engine, f"wr-{role}", role) for role in ("edit", "read", "admin")}


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The shared real Da Nang files: skipped locally when absent, a failure under CI."""
    require("realdata")
    return REALDATA
