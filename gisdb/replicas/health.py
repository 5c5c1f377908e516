"""What a replica reports about itself, and whether it may serve reads.

A replica is judged on three things: it answers, it is still a standby (a promoted
replica is a primary of its own, and its answers no longer follow the configured
primary), and its lag: the time since the primary was at a WAL position the replica has
not replayed yet, from the primary positions sampled at each check. That is exact to a
check's interval, counts a replica that stopped receiving as well as one slow to replay,
and does not read an idle hour before a write as an hour of lag (as the time since the
last replayed transaction would)."""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import sqlalchemy as sa

from .lsn import AS_BIGINT, format_lsn

PROBE = sa.text("SELECT pg_is_in_recovery() AS standby, "
                + AS_BIGINT.format("pg_last_wal_replay_lsn()") + " AS replay")
PRIMARY_POSITION = sa.text("SELECT " + AS_BIGINT.format("pg_current_wal_insert_lsn()"))
REPLAY_POSITION = sa.text("SELECT " + AS_BIGINT.format("pg_last_wal_replay_lsn()"))
# The primary's insert position at a WAL page's start lies past its page header (24 or
# 40 bytes), beyond the end of the last record, which is where a replica's replay stops.
PAGE_HEADER = 64
SAMPLES = 600            # primary positions remembered (one per check)


@dataclass
class PrimarySamples:
    """The primary's WAL positions at the moments they were read (monotonic clock)."""

    samples: deque = field(default_factory=lambda: deque(maxlen=SAMPLES))

    def add(self, position: int, at: float) -> None:
        """Remember that the primary was at `position` at `at`."""
        self.samples.append((at, position))

    def lag(self, replay: int, now: float) -> float | None:
        """Seconds since the primary was first at a position `replay` has not reached;
        None when it has not reached even the oldest sample (its lag cannot be bounded:
        a replica just started, or behind for longer than the samples go back)."""
        for n, (at, position) in enumerate(self.samples):
            if replay + PAGE_HEADER < position:
                return None if n == 0 else max(0.0, now - at)
        return 0.0


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
        if row.replay is None:
            self.lag_s, self.problem = None, "it has replayed nothing yet"
            return
        self.lag_s = samples.lag(row.replay, now)
        if self.lag_s is None:
            self.problem = "behind every primary position sampled so far (catching up)"
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
