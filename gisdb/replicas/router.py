"""Which database answers a read: a streaming replica in rotation, or the primary.

Reads are spread over the replicas in rotation, in turn. A read that must see a write
(it carries the write's WAL position, see `lsn`) goes to a replica that has replayed
that position, waits up to `GISDB_REPLICA_WAIT_MS` for one to, and is read on the
primary otherwise. The replicas' state is checked at most once per `REFRESH_S`, by
whichever request comes first (the others go on with the state as it was), and a
replica that fails a read leaves the rotation at once."""
from __future__ import annotations

import itertools
import logging
import threading
import time

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ..engine import db_errors, make_engine
from ..errors import DatabaseUnavailable, GisdbError
from ..settings import Settings
from .health import PRIMARY_POSITION, PROBE, REPLAY_POSITION, PrimarySamples, Replica

log = logging.getLogger(__name__)
REFRESH_S = 1.0
POLL_S = 0.01


def server_of(url: str) -> str:
    """Where a URL's server is (host or socket directory), without its credentials."""
    parsed = make_url(url)
    where = parsed.host or parsed.query.get("host") or "local socket"
    return where if isinstance(where, str) else ",".join(where)


def _position(engine: sa.Engine, query: sa.TextClause) -> int:
    """A WAL position read from `engine` (DatabaseUnavailable when it cannot answer)."""
    with db_errors(), engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


class ReadRouter:
    """The primary's engine, the replicas, and the choice between them."""

    def __init__(self, primary: sa.Engine, replicas: list[Replica], max_lag_s: float,
                 wait_ms: int, refresh_s: float = REFRESH_S):
        """`primary` answers whatever no replica may; `replicas` start out of rotation
        until their first check."""
        self.primary, self.replicas = primary, replicas
        self.max_lag_s, self.wait_s, self.refresh_s = max_lag_s, wait_ms / 1000, refresh_s
        self._samples = PrimarySamples()
        self._turn = itertools.count()
        self._checking = threading.Lock()
        self._checked = -refresh_s

    @classmethod
    def from_settings(cls, settings: Settings, primary: sa.Engine) -> "ReadRouter | None":
        """The router of GISDB_READ_URL's replicas (None when there are none); each
        replica's engine is built like the web's (read-only sessions, timeouts)."""
        if not settings.read_urls:
            return None
        replicas = [Replica(f"replica {n}", make_engine(
            settings, url=url, application_name="gisdb-web-replica"), url, server_of(url))
            for n, url in enumerate(settings.read_urls, start=1)]
        return cls(primary, replicas, settings.max_replica_lag_s, settings.replica_wait_ms)

    # -- choosing --------------------------------------------------------------------------
    def choose(self, min_lsn: int | None = None) -> Replica | None:
        """The replica to read from (None: the primary): one in rotation, in turn; with
        `min_lsn`, one that has replayed it (waiting up to the read-your-writes wait)."""
        self.check()
        ready = [r for r in self.replicas if r.in_rotation]
        if min_lsn is not None:
            ready = [r for r in ready if r.replay is not None and r.replay >= min_lsn] or \
                self._wait_for(ready, min_lsn)
        return ready[next(self._turn) % len(ready)] if ready else None

    def _wait_for(self, candidates: list[Replica], min_lsn: int) -> list[Replica]:
        """The first of `candidates` to replay `min_lsn` within the wait, as a list."""
        deadline = time.monotonic() + self.wait_s
        while candidates and time.monotonic() < deadline:
            for replica in list(candidates):
                try:
                    replica.replay = max(replica.replay or 0, _position(replica.engine, REPLAY_POSITION))
                except (GisdbError, sa.exc.DBAPIError) as exc:
                    self.mark_down(replica, f"it did not say where it is ({type(exc).__name__})")
                    candidates.remove(replica)
                    continue
                if replica.replay >= min_lsn:
                    return [replica]
            time.sleep(POLL_S)
        return []

    def mark_down(self, replica: Replica, reason: str) -> None:
        """Take `replica` out of the rotation now (a read on it failed)."""
        if replica.in_rotation:
            log.warning("%s (%s) out of rotation: %s", replica.name, replica.where, reason)
        replica.down(reason)

    # -- checking --------------------------------------------------------------------------
    def check(self, force: bool = False) -> None:
        """Probe the primary's position and every replica when due (or `force`)."""
        if not force and time.monotonic() - self._checked < self.refresh_s:
            return
        if not self._checking.acquire(blocking=force):
            return                          # another request is checking: use the old state
        try:
            self._probe_all()
            self._checked = time.monotonic()
        finally:
            self._checking.release()

    def _probe_all(self) -> None:
        """Sample the primary's position, then judge each replica (logging changes)."""
        try:
            self._samples.add(_position(self.primary, PRIMARY_POSITION), time.monotonic())
        except (GisdbError, sa.exc.DBAPIError):
            pass                            # no new sample: lags follow the ones kept
        for replica in self.replicas:
            was = replica.in_rotation
            try:
                with db_errors(), replica.engine.connect() as conn:
                    replica.judge(conn.execute(PROBE).one(), self._samples, self.max_lag_s)
            except DatabaseUnavailable:
                replica.down("it does not answer")
            except (GisdbError, sa.exc.DBAPIError) as exc:
                replica.down(f"its check failed ({type(exc).__name__})")
            self._log_change(replica, was)

    @staticmethod
    def _log_change(replica: Replica, was: bool) -> None:
        """Log a replica entering or leaving the rotation."""
        if was and not replica.in_rotation:
            log.warning("%s (%s) out of rotation: %s", replica.name, replica.where,
                        replica.problem)
        elif replica.in_rotation and not was:
            log.warning("%s (%s) in rotation (%.1f s behind the primary)", replica.name,
                        replica.where, replica.lag_s)

    # -- the primary -----------------------------------------------------------------------
    def primary_position(self) -> int:
        """The primary's WAL position now: past the end of every transaction committed
        before this call (what a write's answer carries for read-your-writes)."""
        return _position(self.primary, PRIMARY_POSITION)

    def report(self) -> list[dict]:
        """Every replica's state, checked now (for /healthz)."""
        self.check(force=True)
        return [replica.document() for replica in self.replicas]

    def dispose(self) -> None:
        """Close the replicas' pools."""
        for replica in self.replicas:
            replica.engine.dispose()
