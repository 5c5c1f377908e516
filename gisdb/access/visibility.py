"""Layers hidden from anonymous readers (`gisdb layers hide` / `show`), and a per-process
cache of that set that follows its data version (`meta.layer_versions` tracks
`meta.hidden_layers` like any layer table), so every app node sees a change within
`CHECK_SECONDS` without a restart and an anonymous request pays nothing in between."""
from __future__ import annotations

import threading
import time

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from gisdb.versions import version_of

from .tables import HiddenLayer

HIDDEN = HiddenLayer.__table__
VERSION_KEY = "meta.hidden_layers"
CHECK_SECONDS = 1.0


def hide_layer(conn: Connection, layer_id: str) -> None:
    """Hide `layer_id` from anonymous readers (the caller checks that the layer exists)."""
    conn.execute(postgresql.insert(HIDDEN).values(layer_id=layer_id).on_conflict_do_nothing())


def show_layer(conn: Connection, layer_id: str) -> None:
    """Show `layer_id` to anonymous readers again."""
    conn.execute(sa.delete(HIDDEN).where(HIDDEN.c.layer_id == layer_id))


def hidden_layers(conn: Connection) -> frozenset[str]:
    """The ids of the hidden layers."""
    return frozenset(conn.execute(sa.select(HIDDEN.c.layer_id)).scalars())


_VERSION = sa.select(version_of(sa.literal(VERSION_KEY)))


class HiddenLayerCache:
    """The hidden set of one process: re-read only when its data version changed,
    and that version looked up at most once per CHECK_SECONDS. Under steady traffic no
    request waits for that look-up: once the set is half that old, one background thread
    reads it again while requests go on with the set they have (never older than
    CHECK_SECONDS: past that a request waits for a fresh one, as after a quiet spell)."""

    def __init__(self):
        """Start empty: the first call reads the set."""
        self._hidden: frozenset[str] = frozenset()
        self._version: int | None = None
        self._loaded = False
        self._checked = -CHECK_SECONDS
        self._lock = threading.Lock()

    def get(self, engine: sa.Engine) -> frozenset[str]:
        """The hidden layer ids (at most CHECK_SECONDS old)."""
        age = time.monotonic() - self._checked
        if age < CHECK_SECONDS / 2:
            return self._hidden
        if age < CHECK_SECONDS:                 # refresh ahead, unless one already is
            if self._lock.acquire(blocking=False):
                threading.Thread(target=self._refresh_ahead, args=(engine,), daemon=True,
                                 name="gisdb-hidden-layers").start()
            return self._hidden
        with self._lock:
            if time.monotonic() - self._checked >= CHECK_SECONDS:
                self._reload(engine)
        return self._hidden

    def _refresh_ahead(self, engine: sa.Engine) -> None:
        """`_reload` in the background (the lock taken by `get`); a failure keeps the
        set, and a request past CHECK_SECONDS then tries again and reports it."""
        try:
            self._reload(engine)
        except Exception:                       # noqa: BLE001 - the next request retries
            pass
        finally:
            self._lock.release()

    def version(self) -> int | None:
        """The data version the cached set belongs to (for ETags)."""
        return self._version

    def _reload(self, engine: sa.Engine) -> None:
        """Read the version; read the set again when it changed. While the database
        cannot answer, the last set known stays (none known yet: the error goes on)."""
        try:
            with engine.connect() as conn:
                version = conn.execute(_VERSION).scalar()
                if version != self._version or not self._loaded:
                    self._hidden = hidden_layers(conn)
                    self._version = version
                    self._loaded = True
        except sa.exc.DBAPIError:
            if not self._loaded:
                raise
        self._checked = time.monotonic()
