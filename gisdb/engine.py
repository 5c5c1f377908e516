"""Engines and sessions: bounded, pre-pinged pools with a statement timeout on every
connection, so the server heals after a database restart and no query hangs."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa
from psycopg.pq import Format
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine, make_url

from .errors import ConfigurationError, DatabaseUnavailable, QueryTimeout
from .settings import Settings


def _psycopg_url(text: str) -> str:
    url = make_url(text)
    if url.drivername in ("postgresql", "postgres", "postgis"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def database_url(settings: Settings) -> str:
    """URL of the configured database: GISDB_DATABASE_URL, or the embedded cluster's;
    the read role's (`web_database_url`) for the web's settings (`Settings.for_web`)."""
    if settings.read_only:
        return web_database_url(settings)
    return owner_database_url(settings)


def owner_database_url(settings: Settings) -> str:
    """URL of the schema's owner: migrations, imports and the command line."""
    if settings.database_url:
        return _psycopg_url(settings.database_url)
    from .cluster import Cluster
    return Cluster(settings).url()


def web_database_url(settings: Settings) -> str:
    """URL of the web's read role: GISDB_WEB_DATABASE_URL, or the embedded cluster's
    `gisdb_web`; with an external database and no read role named, the owner's URL
    (its web sessions are still read-only, but its rights are the owner's)."""
    if settings.web_database_url:
        return _psycopg_url(settings.web_database_url)
    if settings.database_url:
        return _psycopg_url(settings.database_url)
    from .cluster import Cluster
    from .roles import WEB_ROLE
    return Cluster(settings).url(user=WEB_ROLE)


def write_database_url(settings: Settings) -> str:
    """URL of the write role: GISDB_WRITE_DATABASE_URL, or the embedded cluster's
    `gisdb_writer`. An external database without it has no write role to use: writing
    as the owner would let a hole in a request handler change the schema, so it is a
    ConfigurationError."""
    if settings.write_database_url:
        return _psycopg_url(settings.write_database_url)
    if settings.database_url:
        raise ConfigurationError("GISDB_WRITES is on with GISDB_DATABASE_URL but without "
                                 "GISDB_WRITE_DATABASE_URL (the gisdb_writer role's URL)")
    from .cluster import Cluster
    from .roles import WRITE_ROLE
    return Cluster(settings).url(user=WRITE_ROLE)


def make_write_engine(settings: Settings, *, pre_ping: bool = True, **kw) -> Engine:
    """A pooled engine of the write role (`gisdb_writer`: rows of the layer tables and
    the audit log, nothing else) for the web's write path; read-write sessions.
    `pre_ping=False` saves a round trip per write: a write on a dead connection fails
    before anything is committed (503) and its connection leaves the pool."""
    url = write_database_url(settings)
    timeout = settings.statement_timeout_ms
    options = f"-c statement_timeout={int(timeout)} -c idle_in_transaction_session_timeout=60000"
    kw.setdefault("pool_size", max(1, settings.pool_size // 2))
    kw.setdefault("max_overflow", settings.pool_max_overflow)
    return sa.create_engine(url, pool_pre_ping=pre_ping, pool_recycle=1800, pool_timeout=10,
                            connect_args={"options": options, "connect_timeout": 5,
                                          "application_name": "gisdb-write"}, **kw)


def make_engine(settings: Settings, *, timeout_ms: int | None = None,
                application_name: str = "gisdb", pre_ping: bool = True, **kw) -> Engine:
    """A pooled engine for `settings` whose connections carry a statement timeout.

    `pre_ping=False` saves a round trip per checkout, for callers that retry a read once
    on DatabaseUnavailable instead (the tile server's hot path)."""
    timeout = settings.statement_timeout_ms if timeout_ms is None else timeout_ms
    options = f"-c statement_timeout={int(timeout)} -c idle_in_transaction_session_timeout=600000"
    if settings.read_only:
        options += " -c default_transaction_read_only=on"
    kw.setdefault("pool_size", settings.pool_size)
    kw.setdefault("max_overflow", settings.pool_max_overflow)
    engine = sa.create_engine(
        database_url(settings),
        pool_pre_ping=pre_ping,
        pool_recycle=1800,
        pool_timeout=10,
        connect_args={"options": options, "application_name": application_name,
                      "connect_timeout": 5},
        **kw,
    )
    sa.event.listen(engine, "before_cursor_execute", _binary_results)
    return engine


def _binary_results(conn, cursor, statement, parameters, context, executemany) -> None:
    """Results in PostgreSQL's binary format for executions with the `binary_results`
    option: a bytea column then arrives as its bytes, not as hex text to decode (a
    page of GeoJSON built in the database costs a third of the client's CPU)."""
    if context is not None and context.execution_options.get("binary_results"):
        cursor.format = Format.BINARY


def translate_db_error(exc: BaseException) -> BaseException:
    """Map a driver error to the system's error tree (timeouts, unreachable database)."""
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(exc, "sqlstate", None)
    if sqlstate == "57014":
        return QueryTimeout("the query took longer than the statement timeout")
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)) or (
            sqlstate and sqlstate.startswith(("08", "57P"))):
        return DatabaseUnavailable("the database is not reachable")
    return exc


@contextmanager
def db_errors() -> Iterator[None]:
    """Re-raise driver errors as `QueryTimeout` / `DatabaseUnavailable`."""
    try:
        yield
    except (sa_exc.DBAPIError, sa_exc.OperationalError) as exc:
        mapped = translate_db_error(exc)
        if mapped is exc:
            raise
        raise mapped from exc


def ping(engine: Engine) -> dict:
    """Check the database; returns versions. Raises DatabaseUnavailable."""
    with db_errors(), engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT current_setting('server_version') AS pg, postgis_lib_version() AS postgis"
        )).mappings().one()
    return dict(row)
