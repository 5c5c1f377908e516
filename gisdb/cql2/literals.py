"""Dates and timestamps of CQL2 literals and of the `datetime` parameter, as Python
values (timestamps always timezone-aware, UTC when no offset is given)."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from gisdb.errors import InvalidFilter

if TYPE_CHECKING:
    import sqlalchemy as sa


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise InvalidFilter(f"not a date (YYYY-MM-DD): {text[:40]!r}") from None


def parse_timestamp(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("z", "Z"))
    except (ValueError, AttributeError):
        raise InvalidFilter(f"not an RFC 3339 timestamp: {text[:40]!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def parse_instant(text: str) -> dt.date | dt.datetime:
    """A date when the text is a bare date, otherwise a timestamp."""
    text = text.strip()
    if len(text) == 10:
        return parse_date(text)
    return parse_timestamp(text)


def time_value(value: dt.date | dt.datetime, column_type) -> tuple:
    """(value, SQL type) to compare with a column of `column_type` independently of the
    session time zone: against a DATE column a timestamp becomes UTC wall-clock time
    (no zone); against a timestamp column a date means UTC midnight."""
    import sqlalchemy as sa
    with_zone = isinstance(column_type, sa.DateTime) and column_type.timezone
    if isinstance(value, dt.datetime):
        if isinstance(column_type, sa.Date) and not isinstance(column_type, sa.DateTime):
            return value.astimezone(dt.timezone.utc).replace(tzinfo=None), sa.DateTime(timezone=False)
        return value, sa.DateTime(timezone=True)
    if with_zone:
        return (dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc),
                sa.DateTime(timezone=True))
    return value, sa.Date()


def time_bind(value: dt.date | dt.datetime, column_type) -> "sa.ColumnElement":
    """`time_value` as a bound literal."""
    import sqlalchemy as sa
    bound, type_ = time_value(value, column_type)
    return sa.literal(bound, type_)
