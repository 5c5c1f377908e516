"""Rules on where buildings stand: across their parcel's boundary, inside a road's
right-of-way."""
from __future__ import annotations

import sqlalchemy as sa
from geoalchemy2 import functions as gf
from sqlalchemy.orm import aliased

from layers.construction import Building
from layers.land import Parcel
from layers.traffic import Road

from .measures import LIVE_STATUSES, building_ward, in_region, metric, result, ward_filter
from .rule import Rule

CROSSING_TOLERANCE_M2 = 2.0   # survey slack before a footprint on a neighbour counts
METRES_PER_DEGREE_AT_LEAST = 100_000.0   # in Da Nang a degree is >= 107 km: a safe prefilter
ROAD_LAW = "Nghị định 11/2010/NĐ-CP (hành lang an toàn đường bộ)"


def _crossing(ward: str | None, region=None) -> sa.Select:
    """Buildings standing on parcels other than their own by more than the tolerance; only
    a building not within its own parcel (an id lookup) is matched with its neighbours."""
    other = aliased(Parcel)
    own = aliased(Parcel)
    inside_own = sa.exists().where(own.id == Building.parcel_id, gf.ST_Within(Building.geom, own.geom))
    area = sa.func.sum(gf.ST_Area(gf.ST_Intersection(metric(Building.geom), metric(other.geom))))
    hits = (sa.select(Building.id.label("building_id"), area.label("m2"))
            .join(other, gf.ST_Intersects(other.geom, Building.geom))
            .where(Building.status.in_(LIVE_STATUSES), in_region(Building.geom, region), ~inside_own,
                   other.id.is_distinct_from(Building.parcel_id))
            .group_by(Building.id).having(area > CROSSING_TOLERANCE_M2).subquery("crossings"))
    ward_code = building_ward()
    q = (sa.select(*result(Building.id, hits.c.m2, sa.literal(CROSSING_TOLERANCE_M2),
                           hits.c.m2 - CROSSING_TOLERANCE_M2, "m²", Building.geom, ward_code))
         .join(hits, hits.c.building_id == Building.id))
    return ward_filter(q, ward, ward_code)


def _right_of_way(ward: str | None, region=None) -> sa.Select:
    """Buildings closer to a road's centre line than half the road's width: a distance in
    degrees that is surely longer finds the candidates (with the roads' index), the
    distance in metres decides."""
    half = Road.width_m / 2
    widest = sa.select(sa.func.max(Road.width_m) / 2 / METRES_PER_DEGREE_AT_LEAST).scalar_subquery()
    near_region = sa.true() if region is None else Road.geom.op("&&")(gf.ST_Expand(region, widest))
    depth = sa.func.max(half - gf.ST_Distance(metric(Building.geom), metric(Road.geom)))
    hits = (sa.select(Building.id.label("building_id"), depth.label("depth"))
            .join(Road, gf.ST_DWithin(Building.geom, Road.geom, half / METRES_PER_DEGREE_AT_LEAST))
            .where(Building.status.in_(LIVE_STATUSES), in_region(Building.geom, region), near_region,
                   Road.width_m > 0,
                   gf.ST_DWithin(metric(Building.geom), metric(Road.geom), half))
            .group_by(Building.id).subquery("intrusions"))
    ward_code = building_ward()
    q = (sa.select(*result(Building.id, hits.c.depth, sa.literal(0), hits.c.depth, "m",
                           Building.geom, ward_code))
         .join(hits, hits.c.building_id == Building.id))
    return ward_filter(q, ward, ward_code)


RULES = (
    Rule("parcel_overlap", "Công trình lấn sang thửa đất khác", "Building crossing its parcel's boundary",
         "Công trình chiếm đất của thửa khác quá 2 m² (dung sai đo đạc).",
         "The building stands on another parcel by more than 2 m² (survey tolerance).",
         ("buildings", "parcels"), "buildings", "medium", "Luật Đất đai 2024, Điều 31", _crossing,
         "m²", "lấn {measured} m² sang thửa đất khác", "{measured} m² on a neighbouring parcel"),
    Rule("road_right_of_way", "Công trình lấn chỉ giới đường", "Building inside a road's right-of-way",
         "Công trình nằm trong phạm vi bề rộng đường (nửa bề rộng tính từ tim đường).",
         "The building stands within half the road's width of its centre line.",
         ("buildings", "roads", "parcels"), "buildings", "high", ROAD_LAW, _right_of_way, "m",
         "lấn chỉ giới đường {measured} m", "{measured} m inside a road's right-of-way"),
)
