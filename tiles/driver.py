"""Running the hot tile statements on psycopg directly, in binary.

A tile is one small statement returning tens of kilobytes of bytea. Through the default
text protocol the server hex-encodes those bytes and the client decodes them again, and
SQLAlchemy adds its per-execution work; on a 2-core server that is a sizeable share of a
tile's cost. So statements that are built once per process (the unfiltered tile SQL, the
version lookup) are compiled once by SQLAlchemy (the SQL still comes from Core
expressions, values are still bound parameters) and executed on the pooled psycopg
connection, binary and prepared. Driver errors are mapped to the system's error tree
here, since they do not pass through SQLAlchemy.

Even psycopg's cursor costs a tile about 0.3 ms of Python (its generator protocol wakes
up for every chunk of a 50 KB result), as much as the whole HTTP layer. So these
statements go one level lower, still through psycopg: its adapters dump the parameters
and load the row (the very conversions a cursor does), and libpq's PQprepare /
PQexecPrepared run the statement in one C call that releases the GIL. Each connection
prepares a statement once per parameter types (psycopg picks int2/int4/int8 by value).

The functions take a SQLAlchemy Connection or, on the hot path, the pool's own connection
(`pooled`): a tile that only runs prepared driver statements has no use for the
Connection object around it, whose checkout and return cost more Python than the tile's
own code.
"""
from __future__ import annotations

import itertools
import re
from contextlib import contextmanager
from typing import Iterator

import psycopg
import sqlalchemy as sa
from psycopg import errors as pg_errors
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from gisdb.errors import DatabaseUnavailable, QueryTimeout

_COMPILED: dict[int, tuple[sa.Select, str, dict, bytes, tuple[str, ...]]] = {}
_PARAMETER_MARK = re.compile(r"%\(([^)]+)\)s|%%")
_DIALECT = postgresql.psycopg.dialect()
_PREPARED = "gisdb.prepared"          # per-connection {(sql, types): statement name}
_NAMES = itertools.count()            # statement names, never reused within a process


def pool_connection(conn):
    """The pool's connection of a SQLAlchemy Connection, or `conn` when it is one."""
    return conn.connection if isinstance(conn, Connection) else conn


def psycopg_connection(conn):
    """The psycopg 3 connection under a SQLAlchemy or pool connection, or None (other
    drivers)."""
    driver = pool_connection(conn).driver_connection
    return driver if isinstance(driver, psycopg.Connection) else None


@contextmanager
def pooled(engine: sa.Engine) -> Iterator:
    """A connection of `engine`'s pool (same session settings, same bound), given back on
    exit. A failed checkout is DatabaseUnavailable; the statements run on it map their
    own errors (`driver_errors`)."""
    try:
        conn = engine.raw_connection()
    except (psycopg.OperationalError, sa.exc.DBAPIError) as exc:
        raise DatabaseUnavailable("the database is not reachable") from exc
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def driver_errors(conn) -> Iterator[None]:
    """psycopg errors as QueryTimeout / DatabaseUnavailable; a broken connection is
    invalidated so the pool never hands it out again."""
    try:
        yield
    except psycopg.errors.QueryCanceled as exc:
        raise QueryTimeout("the query took longer than the statement timeout") from exc
    except psycopg.OperationalError as exc:
        conn.invalidate()
        raise DatabaseUnavailable("the database is not reachable") from exc


def _numbered(sql: str) -> tuple[bytes, tuple[str, ...]]:
    """psycopg's `%(name)s` parameter marks as libpq's `$1, $2, ...` (`%%` back to `%`), and
    the parameter names in their order."""
    names: list[str] = []

    def number(match: re.Match) -> str:
        if match.group(1) is None:
            return "%"
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return _PARAMETER_MARK.sub(number, sql).encode(), tuple(names)


def _compiled(stmt: sa.Select) -> tuple[str, dict, bytes, tuple[str, ...]]:
    entry = _COMPILED.get(id(stmt))
    if entry is None or entry[0] is not stmt:
        compiled = stmt.compile(dialect=_DIALECT)
        entry = (stmt, compiled.string, dict(compiled.params), *_numbered(compiled.string))
        if len(_COMPILED) >= 2048:          # bounded like the statement memo it mirrors
            _COMPILED.clear()
        _COMPILED[id(stmt)] = entry
    return entry[1:]


def _raise_for(driver: psycopg.Connection, result: pq.PGresult) -> None:
    """A failed libpq result as the psycopg exception a cursor would have raised."""
    if driver.pgconn.status == pq.ConnStatus.BAD:
        raise psycopg.OperationalError("the connection to the database was lost")
    raise pg_errors.error_from_result(result, encoding=driver.info.encoding)


def _statement_gone(result: pq.PGresult) -> bool:
    """Whether `result` says the prepared statement does not exist (SQLSTATE 26000)."""
    return (result.status == pq.ExecStatus.FATAL_ERROR
            and result.error_field(pq.DiagnosticField.SQLSTATE) == b"26000")


def _statement_name(conn, driver: psycopg.Connection, sql: bytes, types: tuple) -> bytes:
    """The name of `sql` prepared with `types` on this connection (prepared on first use)."""
    prepared = pool_connection(conn).info.setdefault(_PREPARED, {})
    name = prepared.get((sql, types))
    if name is None:
        name = f"gisdb_tile_{_NAMES.__next__()}".encode()
        result = driver.pgconn.prepare(name, sql, types)
        if result.status != pq.ExecStatus.COMMAND_OK:
            _raise_for(driver, result)
        prepared[(sql, types)] = name
    return name


def fetch_one_binary(conn, stmt: sa.Select, params: dict) -> tuple:
    """The first row of a long-lived (never rebuilt) statement, in binary, prepared."""
    driver = psycopg_connection(conn)
    if driver is None:
        return tuple(conn.execute(stmt, params).one())
    text, defaults, sql, names = _compiled(stmt)
    values = {**defaults, **params}
    with driver_errors(conn):
        if driver.pgconn.transaction_status != pq.TransactionStatus.IDLE:
            # inside the caller's transaction a statement that fails (see below) would
            # abort it: psycopg's own binary cursor instead, off the server's hot path
            # (its tile connections are autocommit)
            return tuple(driver.cursor(binary=True).execute(text, values).fetchone())
        adapt = Transformer(driver)
        dumped = adapt.dump_sequence([values[name] for name in names], [PyFormat.BINARY] * len(names))
        types = tuple(adapt.types or ())
        name = _statement_name(conn, driver, sql, types)
        result = driver.pgconn.exec_prepared(name, dumped, adapt.formats, result_format=pq.Format.BINARY)
        if _statement_gone(result):
            # psycopg's own `DEALLOCATE ALL` (it clears its prepared statements on a
            # rollback when it has some) dropped ours too: prepare it again, once (out of
            # a transaction, the failed attempt left nothing to roll back)
            pool_connection(conn).info[_PREPARED].pop((sql, types), None)
            name = _statement_name(conn, driver, sql, types)
            result = driver.pgconn.exec_prepared(name, dumped, adapt.formats, result_format=pq.Format.BINARY)
        if result.status != pq.ExecStatus.TUPLES_OK:
            _raise_for(driver, result)
        adapt.set_pgresult(result)
        return adapt.load_row(0, tuple)
