"""Server-Sent Events of the change feed (`/changes/stream`): the live consumers'
(the Intelligent Operation Centre's screen) view of the same pages as `/changes`.

- Each change is one event whose `id:` is the token after it, so a browser's
  EventSource that reconnects sends it back as `Last-Event-ID` and resumes exactly there.
- One LISTEN connection per process (`FeedListener`) wakes the streams when a
  transaction with changes commits (the feed's NOTIFY is delivered on commit only);
  without a notification a stream sends a heartbeat comment every `HEARTBEAT_S` and
  reads the feed again, so a lost listener only delays events, never loses them.
- A stream holds a worker thread while it lives: at most `GISDB_MAX_STREAMS` per process
  (`StreamSlots`; beyond, a 503 JSON at once), and `gisdb serve` gives each worker that
  many threads more than it serves ordinary requests with, so streams never take the
  threads of a page of features or a tile.
- The request deadline bounds the opening of a stream only; each later read of the feed
  gets a deadline of its own (`GISDB_REQUEST_TIMEOUT_MS`), and a failed read (the
  database restarting) is retried after a heartbeat instead of ending the stream."""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Iterator

import psycopg
import sqlalchemy as sa

from gisdb import deadline
from gisdb.errors import GisdbError, ServerBusy
from gisdb.feed import token as tokens
from gisdb.feed.commit_order import NOTIFY_CHANNEL
from gisdb.feed.token import Position

from .api.changes import FeedQuery, read_page

log = logging.getLogger(__name__)

HEARTBEAT_S = 15.0
RECONNECT_S = 2.0
RETRY_MS = 3000            # what the browser waits before it reconnects
STREAM_PAGE = 500


class StreamSlots:
    """The process's slots for live streams; taking one never waits."""

    def __init__(self, slots: int):
        self.slots = max(0, int(slots))
        self._free = threading.BoundedSemaphore(self.slots) if self.slots else None

    def take(self) -> None:
        """Take a slot or raise ServerBusy (503)."""
        if self._free is None or not self._free.acquire(blocking=False):
            raise ServerBusy(f"every live change stream of this server is taken ({self.slots} "
                             "per process, GISDB_MAX_STREAMS); poll /changes or retry later")

    def give_back(self) -> None:
        """Free a slot taken by `take`."""
        self._free.release()


class FeedListener:
    """A thread with one LISTEN connection; streams wait on its generation counter."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self._cond = threading.Condition()
        self._generation = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the listening thread once (on the first stream of the process)."""
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="gisdb-feed-listener",
                                                daemon=True)
                self._thread.start()

    def generation(self) -> int:
        """A counter that grows with every notification (and every reconnection)."""
        with self._cond:
            return self._generation

    def wait_after(self, generation: int, timeout: float) -> bool:
        """Wait until the counter passes `generation`; False after `timeout` seconds."""
        with self._cond:
            return self._cond.wait_for(lambda: self._generation != generation, timeout)

    def _bump(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def _connect(self) -> psycopg.Connection:
        cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
        cparams.update(autocommit=True, application_name="gisdb-feed-listener", connect_timeout=5)
        return psycopg.connect(*cargs, **cparams)

    def _run(self) -> None:
        while True:
            try:
                with self._connect() as conn:
                    conn.execute("LISTEN " + NOTIFY_CHANNEL)
                    self._bump()                # notifications may have been missed
                    while True:
                        for _ in conn.notifies(timeout=HEARTBEAT_S):
                            self._bump()
            except psycopg.Error as exc:
                log.warning("change feed listener: %s; reconnecting", type(exc).__name__)
                time.sleep(RECONNECT_S)


def _event(doc: dict, token: str) -> bytes:
    data = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return f"id: {token}\nevent: change\ndata: {data}\n\n".encode()


def _read(engine: sa.Engine, q: FeedQuery, position: Position, budget_ms: int):
    """One read of the feed under a deadline of its own."""
    deadline.start(budget_ms)
    try:
        with engine.connect() as conn:
            page, h = read_page(conn, FeedQuery(q.layers, None, STREAM_PAGE), position)
        return page, h.epoch
    finally:
        deadline.clear()


def _events(engine: sa.Engine, listener: FeedListener, q: FeedQuery, start: Position,
            budget_ms: int) -> Iterator[bytes]:
    """The stream's bytes from `start`, for as long as the client reads."""
    yield f"retry: {RETRY_MS}\n\n".encode()
    position = start
    while True:
        seen = listener.generation()
        try:
            page, epoch = _read(engine, q, position, budget_ms)
        except (GisdbError, sa.exc.DBAPIError) as exc:
            yield f": feed not readable now ({type(exc).__name__}); retrying\n\n".encode()
            time.sleep(HEARTBEAT_S / 3)
            continue
        for doc, pos in zip(page.changes, page.positions):
            yield _event(doc, tokens.encode(pos, epoch))
        position = page.next
        if not page.more and not listener.wait_after(seen, HEARTBEAT_S):
            yield b": keep-alive\n\n"


class EventStream:
    """A stream's body: its slot is given back exactly once, when the server closes the
    body or drops it (even never iterated)."""

    def __init__(self, engine: sa.Engine, listener: FeedListener, q: FeedQuery, start: Position,
                 budget_ms: int, release):
        self._events = _events(engine, listener, q, start, budget_ms)
        self._release = release

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        return next(self._events)

    def close(self) -> None:
        """End the stream and free its slot (idempotent)."""
        self._events.close()
        release, self._release = self._release, None
        if release is not None:
            release()

    def __del__(self) -> None:
        self.close()
