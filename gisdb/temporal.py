"""The OGC `datetime` parameter (an instant, or an interval `start/end` with `..` or empty
open ends), shared by the feature API and the tiles, and its bounds as values to compare
a date or timestamp column with."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from gisdb.cql2.literals import parse_date, parse_timestamp, time_value
from gisdb.errors import InvalidFilter, InvalidParameter


@dataclass(frozen=True)
class TimeRange:
    """`datetime`: an instant (start == end) or an interval; None is an open end."""

    start: dt.date | dt.datetime | None
    end: dt.date | dt.datetime | None
    instant: bool


def _instant(text: str) -> dt.date | dt.datetime:
    try:
        return parse_date(text) if len(text) == 10 else parse_timestamp(text)
    except InvalidFilter as exc:
        raise InvalidParameter("datetime: " + str(exc)) from None


def parse_datetime(raw: str) -> TimeRange:
    """An RFC 3339 date/timestamp, or an interval `a/b` with `..` or empty open ends."""
    raw = raw.strip()
    if "/" not in raw:
        value = _instant(raw)
        return TimeRange(value, value, True)
    start_s, _, end_s = raw.partition("/")
    if "/" in end_s:
        raise InvalidParameter("datetime: an interval has one '/'")
    start = None if start_s in ("..", "") else _instant(start_s)
    end = None if end_s in ("..", "") else _instant(end_s)
    if start is None and end is None:
        raise InvalidParameter("datetime: at least one end of the interval must be given")
    if start is not None and end is not None and _as_dt(start) > _as_dt(end):
        raise InvalidParameter("datetime: the interval ends before it starts")
    return TimeRange(start, end, False)


def _as_dt(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)


def time_bounds(span: TimeRange, column_type) -> tuple[tuple | None, tuple | None]:
    """((value, SQL type) of `column >= start`, (value, SQL type, '<=' or '<') of the end),
    None for an open end. A date as the end of a timestamp column means the whole day:
    `< the next day`."""
    lower = upper = None
    if span.start is not None:
        lower = time_value(span.start, column_type)
    if span.end is not None:
        end, op = span.end, "<="
        if isinstance(column_type, sa.DateTime) and not isinstance(end, dt.datetime):
            end, op = end + dt.timedelta(days=1), "<"
        upper = (*time_value(end, column_type), op)
    return lower, upper


# `as_of`: the database as it was at an instant (time travel in the history tables), as
# opposed to `datetime`, the data's own time. An instant older than SETTLED_AFTER is
# settled: no transaction still open can write history before it (imports, the longest,
# stop at their statement timeout well before), so an answer about it never changes.
SETTLED_AFTER = dt.timedelta(hours=1)


@dataclass(frozen=True)
class AsOf:
    """A parsed `as_of`: the instant (timezone-aware) and the text that names it in
    links, cache keys and tile URLs (RFC 3339, UTC)."""

    at: dt.datetime

    @property
    def text(self) -> str:
        """The instant as RFC 3339 text in UTC (microseconds only when present)."""
        return self.at.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")

    def settled(self, now: dt.datetime | None = None) -> bool:
        """True when no open transaction can still change what the instant shows."""
        return self.at < (now or dt.datetime.now(dt.timezone.utc)) - SETTLED_AFTER


def parse_as_of(raw: str | None, now: dt.datetime | None = None) -> AsOf | None:
    """`as_of` as given by a client: an RFC 3339 timestamp (with an offset, else UTC) or
    a date (its start, 00:00 UTC). None when absent, empty, or in the future (the
    current state, read from the layer tables as without `as_of`); a malformed value or
    an interval is InvalidParameter (400)."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if "/" in text:
        raise InvalidParameter("as_of is one instant (a timestamp or a date), not an interval")
    try:
        value = parse_date(text) if len(text) == 10 else parse_timestamp(text)
    except InvalidFilter as exc:
        raise InvalidParameter("as_of: " + str(exc)) from None
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    if value.year < 1900:
        raise InvalidParameter("as_of must be after 1900")
    if value >= (now or dt.datetime.now(dt.timezone.utc)):
        return None
    return AsOf(value)
