"""Rules against the zoning plan: floors and height of buildings, coverage and
floor-area ratio of parcels, projects on protected land."""
from __future__ import annotations

import sqlalchemy as sa
from geoalchemy2 import functions as gf

from layers.construction import Building, Project
from layers.land import Parcel, Zone

from .measures import LIVE_STATUSES, area_m2, current_ward, metric, result, ward_filter, zone_of
from .rule import Rule

PROTECTED_USES = ("SON", "DKV", "RSX")    # water, green and recreation, forest
OVERLAP_TOLERANCE_M2 = 10.0
PLANNING_LAW = "Luật Quy hoạch đô thị 2009; QCVN 01:2021/BXD"


def _building_against_zone(column, limit_name: str, unit: str):
    """A building attribute above its zone's limit."""
    def query(ward: str | None) -> sa.Select:
        zone = zone_of(Building.geom)
        limit = zone.c[limit_name]
        q = (sa.select(*result(Building.id, column, limit, column - limit, unit, Building.geom,
                               Parcel.ward_code))
             .select_from(Building)
             .join(zone, sa.true())
             .outerjoin(Parcel, Parcel.id == Building.parcel_id)
             .where(Building.status.in_(LIVE_STATUSES), column > limit))
        return ward_filter(q, ward, Parcel.ward_code)
    return query


def _footprints() -> sa.Subquery:
    """Per parcel (LATERAL, one probe of the buildings' parcel index): footprint and
    floor area (m²) of the standing and rising buildings on it."""
    area = area_m2(Building.geom)
    return (sa.select(sa.func.sum(area).label("footprint"),
                      sa.func.sum(area * sa.func.coalesce(Building.floors, 1)).label("floor_area"))
            .where(Building.status.in_(LIVE_STATUSES), Building.parcel_id == Parcel.id)
            .lateral("footprints"))


def _parcel_against_zone(measure, limit_name: str, unit: str):
    """A parcel measure (from its buildings' footprints) above its zone's limit."""
    def query(ward: str | None) -> sa.Select:
        f = _footprints()
        zone = zone_of(Parcel.geom)
        limit = zone.c[limit_name]
        value = measure(f, area_m2(Parcel.geom))
        q = (sa.select(*result(Parcel.id, value, limit, value - limit, unit, Parcel.geom,
                               Parcel.ward_code))
             .select_from(Parcel).join(f, sa.true())
             .join(zone, sa.true()).where(f.c.footprint.is_not(None), value > limit))
        return ward_filter(q, ward, Parcel.ward_code)
    return query


def _protected_overlap(ward: str | None) -> sa.Select:
    """Projects overlapping zones of protected use by more than the tolerance."""
    overlap = sa.func.sum(gf.ST_Area(gf.ST_Intersection(metric(Project.geom), metric(Zone.geom))))
    hits = (sa.select(Project.id.label("project_id"), overlap.label("m2"))
            .join(Zone, gf.ST_Intersects(Zone.geom, Project.geom))
            .where(Zone.planned_use.in_(PROTECTED_USES))
            .group_by(Project.id).having(overlap > OVERLAP_TOLERANCE_M2).subquery("hits"))
    ward_code = current_ward(Project.geom)
    q = (sa.select(*result(Project.id, hits.c.m2, sa.literal(0), hits.c.m2, "m²", Project.geom,
                           ward_code))
         .join(hits, hits.c.project_id == Project.id))
    return ward_filter(q, ward, ward_code)


RULES = (
    Rule("zoning_floors", "Công trình vượt số tầng tối đa của khu quy hoạch",
         "Building above its zone's maximum floors",
         "Số tầng của công trình lớn hơn số tầng tối đa mà quy hoạch phân khu cho phép.",
         "The building has more floors than its zoning plan allows.",
         ("buildings", "zoning", "parcels"), "buildings", "high", PLANNING_LAW,
         _building_against_zone(Building.floors, "max_floors", "floors"), "floors",
         "{measured} tầng, vùng {zone} cho phép tối đa {limit}",
         "floors {measured} of {limit} allowed by zone {zone}"),
    Rule("zoning_height", "Công trình vượt chiều cao tối đa của khu quy hoạch",
         "Building above its zone's maximum height",
         "Chiều cao công trình lớn hơn chiều cao tối đa của quy hoạch phân khu.",
         "The building is taller than its zoning plan allows.",
         ("buildings", "zoning", "parcels"), "buildings", "high", PLANNING_LAW,
         _building_against_zone(Building.height_m, "max_height_m", "m"), "m",
         "cao {measured} m, vùng {zone} cho phép tối đa {limit} m",
         "height {measured} m of {limit} m allowed by zone {zone}"),
    Rule("parcel_coverage", "Thửa đất vượt mật độ xây dựng tối đa",
         "Parcel above the zone's maximum building coverage",
         "Diện tích xây dựng trên thửa đất chia cho diện tích thửa vượt mật độ xây dựng tối đa.",
         "Building footprint over parcel area exceeds the zone's maximum coverage.",
         ("parcels", "buildings", "zoning"), "parcels", "medium", PLANNING_LAW,
         _parcel_against_zone(lambda f, parcel: 100 * f.c.footprint / parcel,
                              "max_coverage_pct", "%"), "%",
         "mật độ xây dựng {measured}%, vùng {zone} cho phép tối đa {limit}%",
         "coverage {measured}% of {limit}% allowed by zone {zone}"),
    Rule("parcel_far", "Thửa đất vượt hệ số sử dụng đất tối đa",
         "Parcel above the zone's maximum floor-area ratio",
         "Tổng diện tích sàn chia cho diện tích thửa vượt hệ số sử dụng đất tối đa.",
         "Total floor area over parcel area exceeds the zone's maximum floor-area ratio.",
         ("parcels", "buildings", "zoning"), "parcels", "medium", PLANNING_LAW,
         _parcel_against_zone(lambda f, parcel: f.c.floor_area / parcel, "max_far", "ratio"),
         "ratio",
         "hệ số sử dụng đất {measured}, vùng {zone} cho phép tối đa {limit}",
         "floor-area ratio {measured} of {limit} allowed by zone {zone}"),
    Rule("project_protected_zone", "Dự án chồng lấn khu quy hoạch được bảo vệ",
         "Project overlapping protected zoning",
         "Ranh giới dự án chồng lấn khu quy hoạch mặt nước, cây xanh hoặc rừng.",
         "The project's boundary overlaps zoning reserved for water, green space or forest.",
         ("projects", "zoning"), "projects", "high", "Luật Quy hoạch đô thị 2009, Điều 35",
         _protected_overlap, "m²",
         "chồng lấn {measured} m² khu quy hoạch được bảo vệ",
         "overlaps protected zoning by {measured} m²"),
)
