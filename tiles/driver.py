"""Running the hot tile statements on psycopg directly, in binary.

A tile is one small statement returning tens of kilobytes of bytea. Through the default
text protocol the server hex-encodes those bytes and the client decodes them again, and
SQLAlchemy adds its per-execution work; on a 2-core server that is a sizeable share of a
tile's cost. So statements that are built once per process (the unfiltered tile SQL, the
version lookup) are compiled once by SQLAlchemy (the SQL still comes from Core
expressions, values are still bound parameters) and executed on the pooled psycopg
connection with `binary=True, prepare=True`. Driver errors are mapped to the system's
error tree here, since they do not pass through SQLAlchemy.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gisdb.errors import DatabaseUnavailable, QueryTimeout

_COMPILED: dict[int, tuple[sa.Select, str, dict]] = {}


def psycopg_connection(conn: Connection):
    """The psycopg 3 connection under a SQLAlchemy connection, or None (other drivers)."""
    driver = conn.connection.driver_connection
    return driver if isinstance(driver, psycopg.Connection) else None


@contextmanager
def driver_errors(conn: Connection) -> Iterator[None]:
    """psycopg errors as QueryTimeout / DatabaseUnavailable; a broken connection is
    invalidated so the pool never hands it out again."""
    try:
        yield
    except psycopg.errors.QueryCanceled as exc:
        raise QueryTimeout("the query took longer than the statement timeout") from exc
    except psycopg.OperationalError as exc:
        conn.invalidate()
        raise DatabaseUnavailable("the database is not reachable") from exc


def _compiled(conn: Connection, stmt: sa.Select) -> tuple[str, dict]:
    entry = _COMPILED.get(id(stmt))
    if entry is None or entry[0] is not stmt:
        compiled = stmt.compile(dialect=conn.dialect)
        entry = (stmt, compiled.string, dict(compiled.params))
        if len(_COMPILED) >= 2048:          # bounded like the statement memo it mirrors
            _COMPILED.clear()
        _COMPILED[id(stmt)] = entry
    return entry[1], entry[2]


def fetch_one_binary(conn: Connection, stmt: sa.Select, params: dict) -> tuple:
    """The first row of a long-lived (never rebuilt) statement, in binary, prepared."""
    driver = psycopg_connection(conn)
    if driver is None:
        return tuple(conn.execute(stmt, params).one())
    sql, defaults = _compiled(conn, stmt)
    with driver_errors(conn), driver.cursor(binary=True) as cur:
        cur.execute(sql, {**defaults, **params}, prepare=True)
        return cur.fetchone()
