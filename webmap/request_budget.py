"""What one request may take of the server: a deadline for all its statements, and, for
the expensive kinds of request, one of a few per-process slots.

- Every request gets a deadline of `GISDB_REQUEST_TIMEOUT_MS` (gisdb.deadline): its
  statements together, not each of them, must finish in that time (503 JSON past it).
- Heavy requests (items with filters, sorting or equality parameters, `/query/stats`,
  `/query/within`) need one of `GISDB_HEAVY_REQUESTS` slots of this process, sized below
  its thread count by `gisdb serve`. With every slot taken the request is answered at
  once with a 503 JSON and `Retry-After`: waiting would hold a worker thread, and the
  point is that at least one thread per process stays free for light requests (a page
  of features, a tile, the map), which therefore keep their usual latency however many
  heavy requests arrive.
- PNG renders (not cache hits) have slots of their own, as many, and may wait up to
  `PNG_WAIT_S` for one: a map asks for a dozen tiles at once and most renders take tens
  of milliseconds, so a short wait saves the planner blank tiles. A light request
  waits at most for the running render to end, or for that bound."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator
from urllib.parse import parse_qsl

from flask import Flask

from gisdb import deadline
from gisdb.errors import ServerBusy

from .wsgi_errors import json_error

PNG_WAIT_S = 2.0
HEAVY_PATHS = frozenset({"/query/stats", "/query/within", "/query/near", "/query/traffic", "/query/impact"})
HEAVY_PREFIXES = ("/reports/", "/processes/")
# items parameters that keep a request on the indexes: anything else filters or sorts
LIGHT_ITEMS_PARAMS = frozenset({"limit", "offset", "f", "bbox", "bbox-crs", "crs", "properties"})


def is_heavy(path: str, query: str) -> bool:
    """True for the request classes that can scan a large table."""
    if path in HEAVY_PATHS or path.startswith(HEAVY_PREFIXES):
        return True
    if path.startswith("/collections/") and path.endswith("/items") and query:
        names = {name for name, _ in parse_qsl(query, keep_blank_values=True)}
        return bool(names - LIGHT_ITEMS_PARAMS)
    return False


class HeavySlots:
    """The process's slots for heavy requests; taking one never waits."""

    def __init__(self, slots: int):
        self.slots = max(1, int(slots))
        self._free = threading.BoundedSemaphore(self.slots)

    def try_take(self, wait_s: float = 0.0) -> bool:
        return self._free.acquire(timeout=wait_s) if wait_s > 0 else self._free.acquire(False)

    def give_back(self) -> None:
        self._free.release()

    @contextmanager
    def slot(self, wait_s: float = 0.0) -> Iterator[None]:
        """Hold a slot for the block, or raise ServerBusy (503) when none is free
        within `wait_s`."""
        if not self.try_take(wait_s):
            raise ServerBusy(BUSY)
        try:
            yield
        finally:
            self.give_back()


BUSY = "the server is busy with other expensive requests; try again in a few seconds"


class RequestBudget:
    """WSGI middleware: the deadline of every request, the slot of a heavy one; both
    last until the response body is closed (streamed pages run statements late)."""

    def __init__(self, wsgi_app, budget_ms: int, heavy: HeavySlots):
        self.wsgi_app = wsgi_app
        self.budget_ms = budget_ms
        self.heavy = heavy

    def __call__(self, environ, start_response):
        heavy = is_heavy(environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
        if heavy and not self.heavy.try_take():
            return json_error(start_response, 503, ServerBusy.code, BUSY)
        deadline.start(self.budget_ms)
        try:
            body = self.wsgi_app(environ, start_response)
        except BaseException:
            self._done(heavy)
            raise
        if isinstance(body, list):          # answered whole (tiles): nothing runs later
            self._done(heavy)
            return body
        return _Finally(body, lambda: self._done(heavy))

    def _done(self, heavy: bool) -> None:
        deadline.clear()
        if heavy:
            self.heavy.give_back()


class _Finally:
    """A response body that runs `done` once: when it is exhausted, closed or dropped,
    whichever comes first (a server closes it; a test client may only read it to the
    end, or drop it unread)."""

    def __init__(self, body, done):
        self._body, self._iter, self._done = body, iter(body), done

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._iter)
        except StopIteration:
            self._finish()
            raise

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._finish()

    def __del__(self) -> None:             # a client that dropped the body unread
        self._finish()

    def _finish(self) -> None:
        done, self._done = self._done, None
        if done is not None:
            done()


def install(app: Flask, budget_ms: int, heavy: HeavySlots) -> None:
    """Put the request budget in front of the app's WSGI callable."""
    app.wsgi_app = RequestBudget(app.wsgi_app, budget_ms, heavy)
