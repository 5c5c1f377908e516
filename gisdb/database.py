"""Creating and dropping databases, and enabling the extensions the schema needs."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from .engine import database_url, web_database_url, write_database_url
from .settings import Settings

EXTENSIONS = ("postgis", "unaccent", "pg_trgm")


def _beside(url: str, name: str) -> str:
    """`url` with database `name` instead of its own."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _admin_engine(url: str) -> sa.Engine:
    admin = make_url(url).set(database="postgres")
    return sa.create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def _ident(conn: sa.Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(name)


def _enable_extensions(url: str) -> None:
    eng = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        for ext in EXTENSIONS:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS " + _ident(conn, ext))
    eng.dispose()


def ensure_database(settings: Settings) -> str:
    """Create the configured database if missing (embedded cluster only) and enable the
    extensions. Returns its URL."""
    url = database_url(settings)
    if settings.embedded:
        name = make_url(url).database
        eng = _admin_engine(url)
        with eng.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": name}).scalar()
            if not exists:
                conn.exec_driver_sql("CREATE DATABASE " + _ident(conn, name))
        eng.dispose()
    _enable_extensions(url)
    return url


def create_database(settings: Settings, name: str) -> str:
    """Create a fresh, empty database `name` beside the configured one; returns its URL."""
    url = _beside(database_url(settings), name)
    drop_database(settings, name)
    eng = _admin_engine(url)
    with eng.connect() as conn:
        conn.exec_driver_sql("CREATE DATABASE " + _ident(conn, name))
    eng.dispose()
    _enable_extensions(url)
    return url


def web_url_of(settings: Settings, name: str) -> str | None:
    """The read role's URL of database `name` beside the configured one; None when no
    read role is configured (an external database without GISDB_WEB_DATABASE_URL)."""
    if not (settings.embedded or settings.web_database_url):
        return None
    return _beside(web_database_url(settings), name)


def write_url_of(settings: Settings, name: str) -> str | None:
    """The write role's URL of database `name` beside the configured one; None when no
    write role is configured (an external database without GISDB_WRITE_DATABASE_URL)."""
    if not (settings.embedded or settings.write_database_url):
        return None
    return _beside(write_database_url(settings), name)


def drop_database(settings: Settings, name: str) -> None:
    url = _beside(database_url(settings), name)
    eng = _admin_engine(url)
    with eng.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS " + _ident(conn, name) + " WITH (FORCE)")
    eng.dispose()
