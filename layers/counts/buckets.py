"""How counts are aggregated over time, in one place: the city's time zone, the steps,
the time window of a request, and the sums and the weighted mean speed of a bucket.

Buckets are cut with `date_trunc(step, counted_at, 'Asia/Ho_Chi_Minh')`: an hour, a
day from local midnight, a week from local Monday midnight. Viet Nam keeps UTC+07:00
all year (no daylight saving), so every bucket is written with that offset. Counts are
summed; the speed of a bucket is the mean of the hourly speeds weighted by the vehicles
counted in each hour (an hour of 3,000 vehicles weighs more than one of 30); hours
without a speed are left out of it."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from gisdb.errors import InvalidParameter
from gisdb.temporal import TimeRange, parse_datetime

from ..traffic import TrafficCount

CITY_TZ = "Asia/Ho_Chi_Minh"
CITY_OFFSET = dt.timezone(dt.timedelta(hours=7), "ICT")
STEPS = ("hour", "day", "week")
VEHICLES = ("motorbikes", "cars", "trucks", "buses")
COLUMNS = ("time", *VEHICLES, "total", "avg_speed_kmh")
DEFAULT_WEEKS = 8                   # without `datetime`: the last eight weeks of data
MAX_BUCKETS = 10_000                # a year of hours fits; more is a 400
YEARS = (1900, 2200)                # datetime bounds outside these are a 400
COUNTS = TrafficCount.__table__


@dataclass(frozen=True)
class Window:
    """The half-open interval [start, end) a request covers; None for an open end."""

    start: dt.datetime | None
    end: dt.datetime | None

    def text(self) -> str:
        """The window as an OGC `datetime` interval in the city's offset."""
        def part(value):
            return ".." if value is None else value.astimezone(CITY_OFFSET).isoformat()
        return part(self.start) + "/" + part(self.end)


def step_of(raw: str | None) -> str:
    """`step`: hour, day (default) or week."""
    step = (raw or "day").strip().lower()
    if step not in STEPS:
        raise InvalidParameter(f"step must be one of {', '.join(STEPS)}, got {str(raw)[:20]!r}")
    return step


def _city_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=CITY_OFFSET)


def window_of(raw: str | None) -> Window | None:
    """The `datetime` parameter (gisdb.temporal's parser) as a half-open window; a bare
    date is a day of the city (from local midnight), an end date includes its whole day,
    an end instant is included. None when absent (the caller picks its default)."""
    if raw is None or not raw.strip():
        return None
    span: TimeRange = parse_datetime(raw)
    for value in (span.start, span.end):
        if value is not None and not YEARS[0] <= value.year <= YEARS[1]:
            raise InvalidParameter(f"datetime: years {YEARS[0]} to {YEARS[1]} only")
    start = span.start
    if start is not None and not isinstance(start, dt.datetime):
        start = _city_midnight(start)
    end = span.end
    if end is not None:
        end = (_city_midnight(end + dt.timedelta(days=1)) if not isinstance(end, dt.datetime)
               else end + dt.timedelta(microseconds=1))
    return Window(start, end)


def recent_window(last: dt.datetime | None) -> Window:
    """The default window: the DEFAULT_WEEKS up to the last count (inclusive)."""
    if last is None:
        return Window(None, None)
    end = last + dt.timedelta(hours=1)
    return Window(end - dt.timedelta(weeks=DEFAULT_WEEKS), end)


def in_window(column: sa.ColumnElement, window: Window) -> list[sa.ColumnElement]:
    """`column` within the window, as bound comparisons."""
    out = []
    if window.start is not None:
        out.append(column >= sa.literal(window.start, sa.DateTime(timezone=True)))
    if window.end is not None:
        out.append(column < sa.literal(window.end, sa.DateTime(timezone=True)))
    return out


def bucket(column: sa.ColumnElement, step: str) -> sa.ColumnElement:
    """The start of the step's bucket holding `column`, cut in the city's time zone."""
    return sa.func.date_trunc(sa.literal(step, sa.Text), column, sa.literal(CITY_TZ, sa.Text))


def _vehicles(c) -> sa.ColumnElement:
    return c.motorbikes + c.cars + c.trucks + c.buses


def sums(table: sa.FromClause) -> list[sa.ColumnElement]:
    """The aggregates of a bucket: each vehicle class, the total, the weighted speed
    (summed in float8: numeric products cost more than the rest of the query)."""
    c = table.c
    vehicles = _vehicles(c)
    weight = sa.case((c.avg_speed_kmh.is_not(None), vehicles))
    mean = (sa.func.sum(sa.cast(c.avg_speed_kmh, sa.Float) * vehicles)
            / sa.func.nullif(sa.func.sum(weight), 0))
    speed = sa.func.round(sa.cast(mean, sa.Numeric), 1)
    return [*(sa.func.sum(c[name]).label(name) for name in VEHICLES),
            sa.func.sum(vehicles).label("total"), speed.label("avg_speed_kmh")]


def hour_values(table: sa.FromClause) -> list[sa.ColumnElement]:
    """The same columns for one row of hourly counts (a bucket of one hour): no
    aggregate, since counts are on the hour and unique per station (migration 0008)."""
    c = table.c
    vehicles = _vehicles(c)
    return [*(c[name] for name in VEHICLES), vehicles.label("total"),
            sa.case((vehicles > 0, c.avg_speed_kmh)).label("avg_speed_kmh")]


def in_city_time(conn) -> None:
    """Render this transaction's timestamps in the city's zone: JSON then writes a
    bucket's start as RFC 3339 with +07:00, at no cost per row."""
    conn.execute(sa.select(sa.func.set_config("TimeZone", CITY_TZ, True)))


def local_text(column: sa.ColumnElement) -> sa.ColumnElement:
    """A bucket's start as RFC 3339 text in the city's offset (+07:00)."""
    return sa.func.to_char(sa.func.timezone(sa.literal(CITY_TZ, sa.Text), column),
                           sa.literal('YYYY-MM-DD"T"HH24:MI:SS"+07:00"', sa.Text))
