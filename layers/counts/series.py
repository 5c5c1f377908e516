"""A station's counts as a time series (`/collections/traffic_stations/items/{id}/counts`):
buckets of an hour, a day or a week (`buckets`), written as JSON or CSV by PostgreSQL
itself, so a year of hourly counts is one index-only scan and one aggregate, and Python
only moves the bytes."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Connection

from gisdb.engine import db_errors
from gisdb.errors import InvalidParameter, NotFound

from ..traffic import TrafficStation
from .buckets import (
    CITY_TZ,
    COLUMNS,
    COUNTS,
    MAX_BUCKETS,
    VEHICLES,
    Window,
    bucket,
    hour_values,
    in_city_time,
    in_window,
    local_text,
    recent_window,
    sums,
)

STATIONS = TrafficStation.__table__
CSV_HEADER = ",".join(COLUMNS)


def grouped(rows: sa.FromClause, step: str, *keys: sa.ColumnElement,
            limit: int = MAX_BUCKETS) -> sa.Subquery:
    """Buckets of `rows` (which carry `counted_at` and the count columns), one row per
    bucket start `time` (and per key), at most `limit` + 1 of them. One station's hours
    are its rows as they are (no aggregate: an index-only scan in time order)."""
    if step == "hour" and not keys:
        return (sa.select(rows.c.counted_at.label("time"), *hour_values(rows))
                .order_by(rows.c.counted_at).limit(limit + 1).subquery("buckets"))
    inner = sa.select(bucket(rows.c.counted_at, step).label("time"), *keys,
                      *(rows.c[n] for n in (*VEHICLES, "avg_speed_kmh"))).subquery()
    key_cols = [inner.c[k.name] for k in keys]
    return (sa.select(inner.c.time, *key_cols, *sums(inner)).group_by(inner.c.time, *key_cols)
            .order_by(*key_cols, inner.c.time).limit(limit + 1).subquery("buckets"))


def json_rows(g: sa.Subquery) -> sa.ColumnElement:
    """The buckets of `g` (exactly the COLUMNS) as a JSON array of objects, in time
    order: each row converted whole (json_agg of the row), the fastest form."""
    return sa.func.coalesce(sa.func.json_agg(aggregate_order_by(sa.literal_column(g.name), g.c.time)),
                            sa.literal_column("'[]'::json"))


def json_points(g: sa.Subquery) -> sa.ColumnElement:
    """The buckets of `g` (which may carry keys besides the COLUMNS) as a JSON array of
    {time, motorbikes, ..., avg_speed_kmh}, in time order."""
    pairs = []
    for name in COLUMNS:
        pairs += [sa.literal(name, sa.Text), g.c[name]]
    return sa.func.coalesce(sa.func.json_agg(aggregate_order_by(sa.func.json_build_object(*pairs), g.c.time)),
                            sa.literal_column("'[]'::json"))


def csv_lines(g: sa.Subquery, *prefix: sa.ColumnElement) -> sa.ColumnElement:
    """The buckets of `g` as CSV lines (after the `prefix` columns), in time order."""
    cells = [*prefix, local_text(g.c.time),
             *(sa.cast(g.c[n], sa.Text) for n in COLUMNS[1:])]
    line = sa.func.concat_ws(sa.literal(",", sa.Text),
                             *(sa.func.coalesce(c, sa.literal("", sa.Text)) for c in cells))
    return sa.func.coalesce(sa.func.string_agg(line, aggregate_order_by(sa.literal("\n", sa.Text), g.c.time)),
                            sa.literal("", sa.Text))


def too_many(n: int, limit: int = MAX_BUCKETS) -> None:
    """A 400 when an answer would hold more than `limit` buckets."""
    if n > limit:
        raise InvalidParameter(f"more than {limit:,} points: give a shorter datetime interval "
                               "or a larger step (day, week)")


def _window(conn: Connection, station_id: int, window: Window | None) -> Window:
    """The request's window, or the last weeks of the station's counts."""
    if window is not None:
        return window
    last = conn.execute(sa.select(sa.func.max(COUNTS.c.counted_at))
                        .where(COUNTS.c.station_id == station_id)).scalar()
    return recent_window(last)


def station_series(conn: Connection, station_id: int, window: Window | None, step: str,
                   media: str = "json") -> str:
    """The series of one station as a JSON document (`media` 'json') or CSV text ('csv'):
    NotFound for an unknown station, InvalidParameter past MAX_BUCKETS."""
    with db_errors():
        in_city_time(conn)
        window = _window(conn, station_id, window)
        rows = sa.select(COUNTS).where(COUNTS.c.station_id == station_id,
                                       *in_window(COUNTS.c.counted_at, window)).subquery()
        g = grouped(rows, step)
        known = sa.exists().where(STATIONS.c.id == station_id)
        if media == "csv":
            body = csv_lines(g)
        else:
            body = sa.cast(sa.func.json_build_object(
                "station", station_id, "step", step, "datetime", window.text(),
                "time_zone", CITY_TZ, "series", json_rows(g)), sa.Text)
        found, n, text = conn.execute(sa.select(known.label("known"), sa.func.count(), body)
                                      .select_from(g)).one()
    if not found:
        raise NotFound(f"no traffic station with id {station_id}")
    too_many(n)
    return CSV_HEADER + "\n" + text + ("\n" if text else "") if media == "csv" else text
