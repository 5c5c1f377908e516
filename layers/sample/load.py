"""Loading the sample city into the database: one transaction, streamed through COPY
(the generator runs a chunk ahead in a thread), explicit ids (after any rows already
present) with the identity sequences moved past them, then ANALYZE. Large loads drop
the layers' non-unique indexes and rebuild them at the end (much faster than updating
them row by row); the load waits at most 30 s for table locks.

A database that already holds the sample is refused (AlreadyLoaded), and so is a load
whose natural keys collide with rows already there; `replace=True` empties every layer
first. A refused or failed load leaves the database exactly as it was."""
from __future__ import annotations

import contextlib
import json
import threading
from queue import Full, Queue
from typing import Callable, Iterator

import psycopg
import sqlalchemy as sa
from psycopg import sql

from gisdb.attribution import attribute
from gisdb.bulk import build_indexes, copy_rows, drop_secondary_indexes
from gisdb.engine import db_errors
from gisdb.errors import AlreadyLoaded, QueryTimeout
from gisdb.history.tables import history_table
from gisdb.importing.log import who
from gisdb.meta_state import forget_state, has_state, record_state, state_value
from layers.registry import ALL_LAYERS, get_layer, history_tracked, is_derived
from layers.traffic import TrafficCount

from .generate import estimate, generate

STATE_KEY = "sample_city"
BOOTSTRAP_KEY = "sample_city_loaded"
COUNTS_TABLE = TrafficCount.__table__
Progress = Callable[[int, int, str], None]
BULK_INDEX_THRESHOLD = 100_000     # features; above it, secondary indexes are rebuilt after


def _target(table: str) -> sa.Table:
    return COUNTS_TABLE if table == "traffic_counts" else get_layer(table).table


def _tables() -> list[sa.Table]:
    return [layer.table for layer in ALL_LAYERS] + [COUNTS_TABLE]


def _existing(conn: sa.Connection) -> str | None:
    value = state_value(conn, STATE_KEY)
    if value is None and has_state(conn, BOOTSTRAP_KEY):
        value = "{}"
    return value


def sample_state(conn: sa.Connection) -> dict | None:
    """What the last sample load recorded: scale, seed, counts and the id range
    [first, last] of the sample's rows in each layer (None if no sample was loaded)."""
    value = state_value(conn, STATE_KEY)
    return None if value is None else json.loads(value)


def clear_layers(conn: sa.Connection) -> None:
    """Empty every layer and the traffic counts (TRUNCATE ... RESTART IDENTITY)."""
    names = sql.SQL(", ").join(sql.Identifier(t.schema, t.name) for t in _tables())
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(names))
    forget_state(conn, STATE_KEY, BOOTSTRAP_KEY)


def _id_bases(conn: sa.Connection) -> dict[str, int]:
    bases = {}
    for layer in ALL_LAYERS:
        ident = layer.table.c[layer.id_column]
        bases[layer.id] = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(ident), 0))).scalar())
    return bases


def _drop_secondary_indexes(conn: sa.Connection) -> list[str]:
    """Drop the layers' non-unique indexes (GiST, trigram GIN, ...), and their version
    tables' (the history triggers copy every row there), for the load and return their
    definitions (`gisdb.bulk`). Unique indexes stay, so natural keys are checked during
    the load."""
    tables = _tables() + [history_table(t) for _, t in history_tracked()]
    return drop_secondary_indexes(conn, [f"{t.schema}.{t.name}" for t in tables])


def _move_sequences(conn: sa.Connection) -> None:
    """Move each identity sequence past the explicit ids just written."""
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        for table in _tables():
            cur.execute(sql.SQL(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), GREATEST(m, 1), m > 0) "
                "FROM (SELECT coalesce(max(id), 0) AS m FROM {}) AS t").format(
                    sql.Identifier(table.schema, table.name)), (f"{table.schema}.{table.name}",))


def load_sample_city(engine: sa.Engine, scale: float = 1, seed: int = 1,
                     progress: bool | Progress = False, *, replace: bool = False) -> dict[str, int]:
    """Generate and load the sample city; returns the rows loaded per layer id (and
    'traffic_counts'). Raises AlreadyLoaded if the sample is already in the database or
    its natural keys clash with rows there, unless `replace` (which empties every layer
    first). `progress` is True (console bar) or a callable(done, total, stage)."""
    report = _reporter(progress)
    total = estimate(scale)
    counts: dict[str, int] = {layer.id: 0 for layer in ALL_LAYERS if not is_derived(layer)}
    counts["traffic_counts"] = 0
    with _load_errors(), db_errors(), engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
        conn.execute(sa.text("SET LOCAL lock_timeout = '30s'"))
        attribute(conn, actor=who()[0], source="cli", comment=f"sample city (scale {scale}, seed {seed})")
        previous = _existing(conn)
        if previous is not None and not replace:
            raise AlreadyLoaded("the sample city is already loaded in this database "
                                "(use `gisdb sample --replace` to empty the layers and reload it)")
        if replace:
            clear_layers(conn)
        done, ids = 0, {}
        indexes = _drop_secondary_indexes(conn) if total >= BULK_INDEX_THRESHOLD else []
        for batch in _prefetch(generate(scale, seed, _id_bases(conn))):
            table = _target(batch.table)
            copy_rows(conn, table.schema, table.name, batch.columns, batch.rows)
            counts[batch.table] += len(batch.rows)
            if batch.rows and batch.columns[0] == "id":
                first, last = ids.get(batch.table, (batch.rows[0][0], batch.rows[0][0]))
                ids[batch.table] = (min(first, batch.rows[0][0]), max(last, batch.rows[-1][0]))
            if batch.table != "traffic_counts":
                done += len(batch.rows)
            report(done, max(total, done), batch.table)
        report(done, done, "indexes")
        build_indexes(conn, indexes)
        _move_sequences(conn)
        record_state(conn, STATE_KEY, json.dumps(
            {"scale": scale, "seed": seed, "counts": counts, "ids": ids}))
        record_state(conn, BOOTSTRAP_KEY, str(sum(counts.values())))
    report(done, done, "analyze")
    with db_errors(), engine.connect() as conn:
        raw = conn.connection.driver_connection
        raw.autocommit = True
        try:
            with raw.cursor() as cur:
                for table in _tables():
                    cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table.schema, table.name)))
        finally:
            raw.autocommit = False
    return counts


@contextlib.contextmanager
def _load_errors():
    """Clear errors for the two ways a load can collide with what is already there."""
    try:
        yield
    except (psycopg.Error, sa.exc.DBAPIError) as exc:
        state = getattr(getattr(exc, "orig", exc), "sqlstate", None)
        if state == "55P03":
            raise QueryTimeout("the layers are locked by another session (an open transaction?); "
                               "nothing was loaded, try again") from exc
        if state == "23505":
            raise AlreadyLoaded("rows with the sample's natural keys are already in the layers; "
                                "nothing was loaded (use `gisdb sample --replace`)") from exc
        raise


def _prefetch(batches: Iterator, depth: int = 2) -> Iterator:
    """Run the generator in a thread, `depth` batches ahead, so that generating the next
    chunk (numpy/shapely, mostly outside the GIL) overlaps with the server's COPY work.
    An exception in the generator is raised here, in the caller's thread."""
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce():
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        queue.put(batch, timeout=0.2)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(done)
        except BaseException as exc:      # handed over to the consumer
            queue.put(exc)

    worker = threading.Thread(target=produce, name="sample-generator", daemon=True)
    worker.start()
    try:
        while (item := queue.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)


def _reporter(progress: bool | Progress) -> Progress:
    if callable(progress):
        return progress
    if progress:
        from .progress import console_progress
        return console_progress()
    return lambda done, total, stage: None
