"""Shared pieces of the time travel tests: a database of their own with a small sample
city (their edits never disturb the sample city other tests count), and its app."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from fresh_databases import migrated_database
from gisdb.engine import make_engine


@pytest.fixture(scope="module")
def tt_settings(base_settings, tmp_path_factory):
    with migrated_database(base_settings, "gisdb_asof", tmp_path_factory.mktemp("asofdata")) as s:
        yield s


@pytest.fixture(scope="module")
def tt_engine(tt_settings):
    from layers.sample import load_sample_city
    engine = make_engine(tt_settings, pool_size=2)
    load_sample_city(engine, scale=0.1, seed=1)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def tt_app(tt_settings, tt_engine):
    from webmap.app import create_app
    app = create_app({"TESTING": True, "SETTINGS": tt_settings})
    yield app
    app.extensions["gisdb"].engine.dispose()


@pytest.fixture(scope="module")
def tt_client(tt_app):
    return tt_app.test_client()


def db_now(engine) -> dt.datetime:
    """The database's clock (the history's timestamps come from it)."""
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT clock_timestamp()")).scalar_one()


def as_text(value: dt.datetime) -> str:
    """An instant as `as_of` text (RFC 3339, UTC)."""
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
