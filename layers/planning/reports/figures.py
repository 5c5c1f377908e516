"""The figures of a ward's (or a district's) report, read from the layers in a few
grouped statements: the unit, land use (area per land-use code with its labels),
buildings (density per hectare, footprint coverage, floors and height distributions),
permits issued per month, incidents per km of road with the hotspot road segments, and
the open violations per rule when the violations layer exists.

A feature belongs to the unit that holds its point on surface (as `/query/stats`
counts), so the parts add up; areas and lengths are in EPSG:5899 metres."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gisdb.engine import db_errors
from gisdb.errors import InvalidParameter, NotFound
from gisdb.model import METRIC_SRID
from layers.registry import get_layer
from layers.value_labels import value_labels

from .violations_section import violations_per_rule

LEVELS = {"ward": ("ward", "commune"), "district": ("district",)}
MAX_CODE_CHARS = 20
HEIGHT_STEP_M = 5
HOTSPOTS = 10


def _metric(geom):
    return sa.func.ST_Transform(geom, METRIC_SRID)


def find_unit(conn: Connection, level: str, code: str, at: dt.date | None = None):
    """The admin unit of `level` with `code`: the one valid on `at` (today), else its
    latest version; NotFound when there is none."""
    if level not in LEVELS:
        raise NotFound(f"no report of level {str(level)[:20]!r} (ward or district)")
    code = str(code).strip()
    if not code or len(code) > MAX_CODE_CHARS or not code.isascii() or not code.isalnum():
        raise InvalidParameter(f"code must be a unit code of letters and digits, got {code[:40]!r}")
    at = at or dt.date.today()
    u = get_layer("admin_units").table
    valid_now = sa.and_(u.c.valid_from <= at, sa.or_(u.c.valid_to.is_(None), u.c.valid_to > at))
    row = conn.execute(
        sa.select(u.c.id, u.c.code, u.c.name, u.c.name_en, u.c.level, u.c.parent_code, u.c.population,
                  u.c.valid_from, u.c.valid_to,
                  (sa.func.ST_Area(_metric(u.c.geom)) / 10_000.0).label("area_ha"))
        .where(u.c.code == code, u.c.level.in_(LEVELS[level]))
        .order_by(sa.case((valid_now, 0), else_=1), u.c.valid_from.desc()).limit(1)).first()
    if row is None:
        raise NotFound(f"no {level} with code {code!r}")
    return row


def _unit_geom(unit_id: int):
    u = get_layer("admin_units").table
    return sa.select(u.c.geom).where(u.c.id == unit_id).scalar_subquery()


def _inside(t, area):
    """Features of table `t` whose point on surface lies in `area` (index-backed)."""
    return sa.and_(t.c.geom.op("&&")(area), sa.func.ST_Intersects(area, sa.func.ST_PointOnSurface(t.c.geom)))


def land_use(conn: Connection, area) -> list[dict]:
    """Parcels per land-use code: count, area (m²) and share of the parcels' area."""
    p = get_layer("parcels").table
    rows = conn.execute(sa.select(p.c.land_use, sa.func.count().label("n"),
                                  sa.func.sum(sa.func.ST_Area(_metric(p.c.geom))).label("m2"))
                        .where(_inside(p, area)).group_by(p.c.land_use)
                        .order_by(sa.text("m2 DESC"))).all()
    total = sum(float(r.m2) for r in rows) or 1.0
    labels = value_labels()["parcels"]["land_use"]
    return [{"land_use": r.land_use, "label_vi": labels.get(r.land_use, [r.land_use] * 2)[0],
             "label_en": labels.get(r.land_use, [r.land_use] * 2)[1], "parcels": int(r.n),
             "area_m2": round(float(r.m2), 1), "share": round(float(r.m2) / total, 4)} for r in rows]


def buildings(conn: Connection, area, area_ha: float) -> dict:
    """Count, density per hectare, footprint and its coverage of the unit, and the
    distributions of floors and of height (in steps of HEIGHT_STEP_M metres): one scan
    of the unit's buildings, grouped three ways at once (GROUPING SETS)."""
    b = get_layer("buildings").table
    rows = (sa.select(b.c.floors.label("floors"),
                      (sa.func.floor(b.c.height_m / HEIGHT_STEP_M) * HEIGHT_STEP_M).label("h"),
                      sa.func.ST_Area(_metric(b.c.geom)).label("m"))
            .where(_inside(b, area)).offset(0).subquery())
    sets = sa.text("GROUPING SETS ((), (floors), (h))")
    grouped = conn.execute(sa.select(rows.c.floors, rows.c.h, sa.func.grouping(rows.c.floors).label("gf"),
                                     sa.func.grouping(rows.c.h).label("gh"), sa.func.count().label("n"),
                                     sa.func.coalesce(sa.func.sum(rows.c.m), 0.0).label("m"))
                           .group_by(sets)).all()
    total = next(r for r in grouped if r.gf and r.gh)
    n, footprint = int(total.n), float(total.m)
    floors = sorted(((r.floors, int(r.n)) for r in grouped if not r.gf),
                    key=lambda x: (x[0] is None, x[0] or 0))
    heights = sorted(((r.h, int(r.n)) for r in grouped if not r.gh), key=lambda x: (x[0] is None, x[0] or 0))
    return {"count": n, "per_ha": round(n / area_ha, 3) if area_ha else None,
            "footprint_m2": round(footprint, 1),
            "coverage": round(footprint / (area_ha * 10_000.0), 5) if area_ha else None,
            "floors": [{"floors": f, "count": c} for f, c in floors],
            "height": [{"from_m": None if h is None else int(h),
                        "to_m": None if h is None else int(h) + HEIGHT_STEP_M, "count": c}
                       for h, c in heights]}


def permits_per_month(conn: Connection, area) -> list[dict]:
    """Permits located in the unit, per month of issue (YYYY-MM)."""
    p = get_layer("permits").table
    month = sa.func.to_char(p.c.issued_on, "YYYY-MM")
    rows = conn.execute(sa.select(month.label("month"), sa.func.count()).where(
        p.c.geom.op("&&")(area), sa.func.ST_Intersects(area, p.c.geom))
        .group_by(sa.text("month")).order_by(sa.text("month"))).all()
    return [{"month": m, "count": int(c)} for m, c in rows]


def incidents(conn: Connection, area) -> dict:
    """Incidents in the unit, the road length inside it (km), incidents per km, and the
    HOTSPOTS road segments with the most incidents (with their own rate per km)."""
    i, r = get_layer("incidents").table, get_layer("roads").table
    in_unit = sa.and_(i.c.geom.op("&&")(area), sa.func.ST_Intersects(area, i.c.geom))
    count = conn.execute(sa.select(sa.func.count()).where(in_unit)).scalar_one()
    km = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(sa.func.ST_Length(
        _metric(sa.func.ST_Intersection(r.c.geom, area)))), 0.0) / 1000.0)
        .where(r.c.geom.op("&&")(area), sa.func.ST_Intersects(r.c.geom, area))).scalar_one()
    per_road = (sa.select(i.c.road_id, sa.func.count().label("n")).where(in_unit, i.c.road_id.is_not(None))
                .group_by(i.c.road_id).subquery())
    top = conn.execute(sa.select(r.c.id, r.c.segment_code, r.c.name, per_road.c.n,
                                 sa.func.ST_Length(_metric(r.c.geom)).label("m"))
                       .join(per_road, per_road.c.road_id == r.c.id)
                       .order_by(per_road.c.n.desc(), r.c.id).limit(HOTSPOTS)).all()
    km = float(km)
    return {"count": int(count), "road_km": round(km, 3),
            "per_km": round(count / km, 3) if km else None,
            "hotspots": [{"road_id": int(t.id), "segment_code": t.segment_code, "name": t.name,
                          "incidents": int(t.n), "length_m": round(float(t.m), 1),
                          "per_km": round(t.n / (float(t.m) / 1000.0), 3) if t.m else None}
                         for t in top]}


def unit_report(conn: Connection, level: str, code: str) -> dict:
    """The whole report of the ward (or commune) or district `code` (JSON-able)."""
    with db_errors():
        unit = find_unit(conn, level, code)
        area = _unit_geom(unit.id)
        area_ha = float(unit.area_ha or 0.0)
        return {
            "unit": {"code": unit.code, "name": unit.name, "name_en": unit.name_en, "level": unit.level,
                     "parent_code": unit.parent_code, "population": unit.population,
                     "valid_from": unit.valid_from.isoformat(),
                     "valid_to": unit.valid_to.isoformat() if unit.valid_to else None,
                     "area_ha": round(area_ha, 2)},
            "generated_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
            "land_use": land_use(conn, area),
            "buildings": buildings(conn, area, area_ha),
            "permits_per_month": permits_per_month(conn, area),
            "incidents": incidents(conn, area),
            "violations": violations_per_rule(conn, area),
        }


def ward_report(conn: Connection, code: str) -> dict:
    """The report of the ward or commune `code`."""
    return unit_report(conn, "ward", code)


def district_report(conn: Connection, code: str) -> dict:
    """The report of the district `code` (districts exist until 30 June 2025)."""
    return unit_report(conn, "district", code)
