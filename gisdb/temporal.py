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
