"""What the views need from the rest of the system, built once per app by the factory."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from gisdb import deadline
from gisdb.engine import make_write_engine
from gisdb.errors import WritesDisabled
from gisdb.replicas.router import ReadRouter
from gisdb.settings import Settings

from .read_target import read_target


@dataclass
class Services:
    """The settings and the read role's engines (the primary's, and the read router's
    replicas when GISDB_READ_URL names some); the write role's engine on first use; the
    job runner once a processes request started it (webmap.process_jobs)."""

    settings: Settings
    primary: sa.Engine
    router: ReadRouter | None = None
    _write_engine: sa.Engine | None = field(default=None, repr=False)
    job_runner: object | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def engine(self) -> sa.Engine:
        """The read engine of this request: the replica chosen for it
        (webmap.read_routing), else the primary's."""
        replica = read_target()
        return self.primary if replica is None else replica.engine

    def write_engine(self) -> sa.Engine:
        """The write role's engine (`gisdb_writer`), built on first use, its statements
        under the request's deadline like the read engine's; WritesDisabled while
        GISDB_WRITES is off, so a server that does not write never connects as it."""
        if not self.settings.writes:
            raise WritesDisabled("writes are off on this server (GISDB_WRITES=off)")
        with self._lock:
            if self._write_engine is None:
                engine = make_write_engine(self.settings, pre_ping=False)
                deadline.bound_statements(engine, self.settings.statement_timeout_ms)
                self._write_engine = engine
            return self._write_engine

    def dispose(self) -> None:
        """Stop the job runner; close every engine's pool."""
        if self.job_runner is not None:
            self.job_runner.stop()
            self.job_runner.engine.dispose()
        self.primary.dispose()
        if self.router is not None:
            self.router.dispose()
        if self._write_engine is not None:
            self._write_engine.dispose()


def services() -> Services:
    """The services of the running app."""
    return current_app.extensions["gisdb"]
