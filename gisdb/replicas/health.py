"""What a replica reports about itself, and whether it may serve reads.

A replica is judged on three things: it answers, it is still a standby (a promoted
replica is a primary of its own, and its answers no longer follow the configured
primary), and its lag. The lag is the larger of two measures: the replica's own (it has
received WAL it has not replayed yet: the time since the last transaction it replayed)
and the primary's (the time since the primary was at a position the replica has not
reached, from the primary positions sampled at each check), so a replica that stopped
receiving is seen to fall behind too."""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import sqlalchemy as sa

from .lsn import AS_BIGINT, format_lsn

PROBE = sa.text(
    "SELECT pg_is_in_recovery() AS standby, "
    + AS_BIGINT.format("pg_last_wal_replay_lsn()") + " AS replay, "
    + AS_BIGINT.format("pg_last_wal_receive_lsn()") + " AS receive, "
    "extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS since_replay")
PRIMARY_POSITION = sa.text("SELECT " + AS_BIGINT.format("pg_current_wal_insert_lsn()"))
REPLAY_POSITION = sa.text("SELECT " + AS_BIGINT.format("pg_last_wal_replay_lsn()"))
PAGE = 8192              # a position at a WAL page's start may lie past the last record's end
SAMPLES = 600            # primary positions remembered (one per check)


@dataclass
class PrimarySamples:
    """The primary's WAL positions at the moments they were read (monotonic clock)."""

    samples: deque = field(default_factory=lambda: deque(maxlen=SAMPLES))

    def add(self, position: int, at: float) -> None:
        """Remember that the primary was at `position` at `at`."""
        self.samples.append((at, position))

    def lag(self, replay: int, now: float) -> float:
        """Seconds since the primary was first at a position `replay` has not reached."""
        for at, position in self.samples:
            if replay + PAGE < position:
                return max(0.0, now - at)
        return 0.0


def own_lag(row) -> float | None:
    """The replica's own lag: 0 when it has replayed all it received, else the time since
    the last transaction it replayed (None: it never replayed one, so unknown)."""
    if row.receive is None or row.replay is None or row.receive <= row.replay:
        return 0.0
    return None if row.since_replay is None else max(0.0, float(row.since_replay))


@dataclass
class Replica:
    """One read replica: its name ("replica 1", shown in answers), where it is (host or
    socket, never credentials: for logs), its engine and URL, and its last known state."""

    name: str
    engine: sa.Engine
    url: str = ""
    where: str = ""
    replay: int | None = None
    lag_s: float | None = None
    problem: str | None = "not checked yet"
    checked_at: float = 0.0

    @property
    def in_rotation(self) -> bool:
        """Whether reads may go to this replica."""
        return self.problem is None

    def judge(self, row, samples: PrimarySamples, max_lag_s: float) -> None:
        """Take a probe's row: the replay position, the lag, and any reason to stay out."""
        now = time.monotonic()
        self.checked_at, self.replay = now, row.replay
        if not row.standby:
            self.lag_s, self.problem = None, "not a standby any more (promoted?)"
            return
        lag = own_lag(row)
        self.lag_s = None if lag is None or row.replay is None else max(
            lag, samples.lag(row.replay, now))
        if self.lag_s is None:
            self.problem = "its lag is unknown (nothing replayed yet)"
        elif self.lag_s > max_lag_s:
            self.problem = (f"{self.lag_s:.1f} s behind the primary (GISDB_MAX_REPLICA_LAG "
                            f"is {max_lag_s:g} s)")
        else:
            self.problem = None

    def down(self, reason: str) -> None:
        """The replica did not answer."""
        self.checked_at, self.lag_s, self.problem = time.monotonic(), None, reason

    def document(self) -> dict:
        """The replica's state as `/healthz` shows it."""
        return {"name": self.name, "in_rotation": self.in_rotation,
                "lag_s": None if self.lag_s is None else round(self.lag_s, 3),
                "replay_lsn": None if self.replay is None else format_lsn(self.replay),
                "problem": self.problem}
