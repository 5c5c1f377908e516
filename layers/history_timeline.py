"""The span of the recorded history, for the map's time control: the earliest instant the
version tables know (before it, time travel answers nothing) and the number of changed
rows per day (UTC), the slider's ticks. Index-backed: each version table's earliest
`hist_from` is read from its index, and the change log is grouped once."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gisdb.engine import db_errors
from gisdb.history.tables import CHANGES, history_table

from .registry import history_tracked

MAX_DAYS = 3660


def _earliest() -> sa.Select:
    firsts = [sa.select(sa.func.min(history_table(table).c.hist_from)).scalar_subquery()
              for _, table in history_tracked()]
    return sa.select(sa.func.least(*firsts), sa.func.now())


def _per_day() -> sa.Select:
    day = sa.cast(sa.func.timezone("UTC", CHANGES.c.at), sa.Date).label("day")
    return (sa.select(day, sa.func.count().label("changes")).group_by(day)
            .order_by(day.desc()).limit(MAX_DAYS))


def history_timeline(conn: Connection) -> dict:
    """{"earliest", "now" (RFC 3339, UTC), "days": [{"date", "changes"}] oldest first}.
    `earliest` is None when nothing is recorded yet."""
    with db_errors():
        earliest, now = conn.execute(_earliest()).one()
        days = conn.execute(_per_day()).all()
    return {"earliest": _text(earliest), "now": _text(now),
            "days": [{"date": d.day.isoformat(), "changes": int(d.changes)} for d in reversed(days)]}


def _text(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
