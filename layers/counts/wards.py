"""Traffic of a ward (`/query/traffic?ward=CODE&datetime=...&step=...`): the counts of
the stations inside the ward, summed per bucket for the whole ward and for each road
segment the stations stand on, for dashboards.

The ward is the unit (ward or commune) with that code whose validity overlaps the
interval (the latest one when several do): a code from before the reform of 1 July
2025 asked about 2026 is a 404 that says when the unit was valid."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Connection

from gisdb.engine import db_errors
from gisdb.errors import InvalidParameter, NotFound

from ..land import AdminUnit
from ..traffic import Road
from .buckets import CITY_OFFSET, CITY_TZ, COLUMNS, COUNTS, Window, in_city_time, in_window
from .series import STATIONS, grouped, json_points, json_rows, too_many

UNITS = AdminUnit.__table__
ROADS = Road.__table__
WARD_LEVELS = ("ward", "commune")
MAX_POINTS = 50_000                 # buckets over every segment of one answer
CSV_HEADER = ",".join(("ward_code", "road_id", "segment_code", *COLUMNS))


def _days(window: Window) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day (in the city) the window touches."""
    first = window.start.astimezone(CITY_OFFSET).date() if window.start else None
    last = ((window.end - dt.timedelta(microseconds=1)).astimezone(CITY_OFFSET).date()
            if window.end else None)
    return first, last


def find_ward(conn: Connection, code: str, window: Window) -> dict:
    """The ward or commune `code` valid during the window (NotFound otherwise)."""
    first, last = _days(window)
    overlap = [UNITS.c.code == code, UNITS.c.level.in_(WARD_LEVELS)]
    if last is not None:
        overlap.append(UNITS.c.valid_from <= last)
    if first is not None:
        overlap.append(sa.or_(UNITS.c.valid_to.is_(None), UNITS.c.valid_to > first))
    cols = (UNITS.c.id, UNITS.c.code, UNITS.c.name, UNITS.c.level, UNITS.c.valid_from, UNITS.c.valid_to)
    row = conn.execute(sa.select(*cols).where(*overlap).order_by(UNITS.c.valid_from.desc())
                       .limit(1)).mappings().first()
    if row is not None:
        return dict(row)
    known = conn.execute(sa.select(UNITS.c.valid_from, UNITS.c.valid_to).where(
        UNITS.c.code == code, UNITS.c.level.in_(WARD_LEVELS))).first()
    if known is None:
        raise NotFound(f"no ward or commune has the code {code[:20]!r}")
    until = known.valid_to.isoformat() if known.valid_to else "today"
    raise NotFound(f"ward {code[:20]!r} was valid from {known.valid_from.isoformat()} to {until} "
                   "(end exclusive), not during the interval asked for")


def _rows(ward_id: int, window: Window) -> sa.Subquery:
    """The counts of the stations inside the ward, each with its station's road."""
    inside = (sa.select(STATIONS.c.id).select_from(UNITS)
              .join(STATIONS, sa.func.ST_Intersects(UNITS.c.geom, STATIONS.c.geom))
              .where(UNITS.c.id == ward_id))
    return (sa.select(COUNTS.c.counted_at, STATIONS.c.road_id,
                      *(COUNTS.c[n] for n in ("motorbikes", "cars", "trucks", "buses", "avg_speed_kmh")))
            .join(STATIONS, STATIONS.c.id == COUNTS.c.station_id)
            .where(COUNTS.c.station_id.in_(inside), *in_window(COUNTS.c.counted_at, window))
            .subquery())


def _segments_json(g: sa.Subquery, ward_id: int) -> sa.Select:
    """Per road segment: id, code, name, its stations in the ward and its series."""
    per_road = (sa.select(g.c.road_id, json_points(g).label("series"), sa.func.count().label("n"))
                .group_by(g.c.road_id).subquery())
    stations = (sa.select(STATIONS.c.road_id, sa.func.count().label("stations"))
                .select_from(UNITS).join(STATIONS, sa.func.ST_Intersects(UNITS.c.geom, STATIONS.c.geom))
                .where(UNITS.c.id == ward_id).group_by(STATIONS.c.road_id).subquery())
    segment = sa.func.json_build_object(
        "road_id", per_road.c.road_id, "segment_code", ROADS.c.segment_code, "name", ROADS.c.name,
        "stations", stations.c.stations, "series", per_road.c.series)
    return (sa.select(sa.func.coalesce(sa.func.json_agg(aggregate_order_by(segment, per_road.c.road_id)),
                                       sa.literal_column("'[]'::json")), sa.func.sum(per_road.c.n))
            .select_from(per_road.outerjoin(ROADS, ROADS.c.id == per_road.c.road_id)
                         .outerjoin(stations, stations.c.road_id.is_not_distinct_from(per_road.c.road_id))))


def ward_traffic(conn: Connection, code: str, window: Window, step: str) -> dict:
    """Counts of the ward's stations per bucket, for the ward and per road segment."""
    if not code or len(code) > 20:
        raise InvalidParameter("ward (a ward or commune code) is required")
    with db_errors():
        in_city_time(conn)
        ward = find_ward(conn, code, window)
        rows = _rows(ward["id"], window)
        whole = grouped(rows, step)
        n, series = conn.execute(sa.select(sa.func.count(), json_rows(whole)).select_from(whole)).one()
        too_many(n)
        parts = grouped(rows, step, rows.c.road_id, limit=MAX_POINTS)
        segments, points = conn.execute(_segments_json(parts, ward["id"])).one()
        too_many(int(points or 0), MAX_POINTS)
    return {"ward": {k: ward[k] for k in ("code", "name", "level")}
            | {"valid_from": ward["valid_from"].isoformat(),
               "valid_to": ward["valid_to"].isoformat() if ward["valid_to"] else None},
            "datetime": window.text(), "step": step, "time_zone": CITY_TZ,
            "series": series, "segments": segments}


def ward_csv(conn: Connection, code: str, window: Window, step: str) -> str:
    """The same as CSV: the ward's rows first (empty road columns), then each segment's."""
    doc = ward_traffic(conn, code, window, step)
    lines = [CSV_HEADER]
    for road_id, segment_code, series in [(None, None, doc["series"])] + [
            (s["road_id"], s["segment_code"], s["series"]) for s in doc["segments"]]:
        for point in series:
            cells = [doc["ward"]["code"], road_id, segment_code, *(point[c] for c in COLUMNS)]
            lines.append(",".join("" if v is None else _csv_cell(v) for v in cells))
    return "\n".join(lines) + "\n"


def _csv_cell(value) -> str:
    """A CSV cell: quoted when it holds a comma, a quote or a line break."""
    text = str(value)
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text
