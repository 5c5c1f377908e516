"""Rules on building permits: none on record, expired while building, built beyond what
the permit allows, a permit located outside its parcel."""
from __future__ import annotations

import sqlalchemy as sa
from geoalchemy2 import functions as gf

from layers.construction import Building, Permit
from layers.land import Parcel

from .measures import LIVE_STATUSES, area_m2, building_ward, in_region, metric, permit_limits, result, ward_filter
from .rule import Rule

AREA_TOLERANCE = 1.02        # floor area may exceed the permit by 2% (survey precision)
HEIGHT_TOLERANCE_M = 1.0     # height may exceed the permit by 1 m (roof finishes)
CONSTRUCTION_LAW = "Luật Xây dựng 2014 (sửa đổi 2020), Điều 89; Nghị định 16/2022/NĐ-CP"


def _buildings_with_permits(region, statuses=LIVE_STATUSES):
    """Buildings (within `region` when given) joined to their permits' limits (inner join)."""
    pl = permit_limits(region)
    q = (sa.select().select_from(Building).join(pl, pl.c.building_id == Building.id)
         .where(Building.status.in_(statuses), in_region(Building.geom, region)))
    return q, pl


def _no_permit(ward: str | None, region=None) -> sa.Select:
    """Standing or rising buildings no permit names."""
    ward_code = building_ward()
    q = (sa.select(*result(Building.id, sa.literal(0), sa.literal(1), sa.literal(1), "permits",
                           Building.geom, ward_code))
         .where(Building.status.in_(LIVE_STATUSES), in_region(Building.geom, region),
                ~sa.exists().where(Permit.building_id == Building.id)))
    return ward_filter(q, ward, ward_code)


def _expired(ward: str | None, region=None) -> sa.Select:
    """Buildings under construction whose every permit has expired."""
    q, pl = _buildings_with_permits(region, ("under_construction",))
    overdue = sa.func.greatest(sa.func.current_date() - pl.c.expires_on, 0)
    ward_code = building_ward()
    q = q.add_columns(*result(Building.id, overdue, sa.literal(0), overdue, "days", Building.geom,
                              ward_code)).where(pl.c.expired, sa.not_(sa.func.coalesce(pl.c.valid, False)))
    return ward_filter(q, ward, ward_code)


def _beyond(measure, allowed, unit: str, tolerance=lambda limit: limit):
    """Buildings whose measure exceeds what their permit allows (with a tolerance)."""
    def query(ward: str | None, region=None) -> sa.Select:
        """The buildings beyond their permit (in the ward, within the region, when given)."""
        q, pl = _buildings_with_permits(region)
        value, limit = measure(), allowed(pl)
        ward_code = building_ward()
        q = q.add_columns(*result(Building.id, value, limit, value - limit, unit, Building.geom,
                                  ward_code)).where(value > tolerance(limit))
        return ward_filter(q, ward, ward_code)
    return query


def _outside_parcel(ward: str | None, region=None) -> sa.Select:
    """Permits whose point lies outside the parcel they name."""
    distance = gf.ST_Distance(metric(Permit.geom), metric(Parcel.geom))
    q = (sa.select(*result(Permit.id, distance, sa.literal(0), distance, "m", Permit.geom,
                           Parcel.ward_code))
         .join(Parcel, Parcel.id == Permit.parcel_id)
         .where(in_region(Permit.geom, region), sa.not_(gf.ST_Intersects(Parcel.geom, Permit.geom))))
    return ward_filter(q, ward, Parcel.ward_code)


RULES = (
    Rule("no_permit", "Công trình không có giấy phép xây dựng", "Building without a permit",
         "Công trình đang tồn tại hoặc đang xây dựng nhưng không có giấy phép nào trong hồ sơ.",
         "The building stands or is being built, and no permit on record names it.",
         ("buildings", "permits", "parcels"), "buildings", "high", CONSTRUCTION_LAW, _no_permit,
         "permits", "không có giấy phép xây dựng trong hồ sơ", "no permit on record"),
    Rule("permit_expired", "Công trình đang xây dựng với giấy phép đã hết hạn",
         "Building under construction with an expired permit",
         "Công trình đang xây dựng nhưng mọi giấy phép của nó đã hết hạn.",
         "The building is under construction and every permit it has has expired.",
         ("buildings", "permits", "parcels"), "buildings", "medium", CONSTRUCTION_LAW, _expired,
         "days", "giấy phép đã hết hạn {measured} ngày", "permit expired {measured} days ago"),
    Rule("beyond_permit_floors", "Công trình vượt số tầng được phép", "Building beyond its permitted floors",
         "Số tầng của công trình lớn hơn số tầng ghi trong giấy phép.",
         "The building has more floors than its permit allows.",
         ("buildings", "permits", "parcels"), "buildings", "high", CONSTRUCTION_LAW,
         _beyond(lambda: Building.floors, lambda pl: pl.c.floors, "floors"), "floors",
         "{measured} tầng, giấy phép cho phép {limit}", "floors {measured} of {limit} permitted"),
    Rule("beyond_permit_area", "Công trình vượt tổng diện tích sàn được phép",
         "Building beyond its permitted floor area",
         "Tổng diện tích sàn (diện tích xây dựng nhân số tầng) vượt quá giấy phép hơn 2%.",
         "Floor area (footprint times floors) exceeds the permit by more than 2%.",
         ("buildings", "permits", "parcels"), "buildings", "medium", CONSTRUCTION_LAW,
         _beyond(lambda: area_m2(Building.geom) * Building.floors, lambda pl: pl.c.floor_area, "m²",
                 lambda limit: limit * AREA_TOLERANCE), "m²",
         "diện tích sàn {measured} m², giấy phép cho phép {limit} m²",
         "floor area {measured} m² of {limit} m² permitted"),
    Rule("beyond_permit_height", "Công trình vượt chiều cao được phép", "Building beyond its permitted height",
         "Chiều cao công trình vượt chiều cao ghi trong giấy phép hơn 1 m.",
         "The building is more than 1 m taller than its permit allows.",
         ("buildings", "permits", "parcels"), "buildings", "medium", CONSTRUCTION_LAW,
         _beyond(lambda: Building.height_m, lambda pl: pl.c.height, "m",
                 lambda limit: limit + HEIGHT_TOLERANCE_M), "m",
         "cao {measured} m, giấy phép cho phép {limit} m", "height {measured} m of {limit} m permitted"),
    Rule("permit_outside_parcel", "Giấy phép nằm ngoài thửa đất của nó", "Permit located outside its parcel",
         "Vị trí của giấy phép nằm ngoài thửa đất ghi trong giấy phép.",
         "The permit's location lies outside the parcel it names.",
         ("permits", "parcels"), "permits", "low", None, _outside_parcel, "m",
         "cách thửa đất {measured} m", "{measured} m outside its parcel"),
)
