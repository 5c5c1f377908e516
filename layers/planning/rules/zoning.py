"""Rules against the zoning plan: floors and height of buildings, coverage and
floor-area ratio of parcels, projects on protected land."""
from __future__ import annotations

import sqlalchemy as sa
from geoalchemy2 import functions as gf

from layers.construction import Building, Project
from layers.land import Parcel, Zone

from .measures import LIVE_STATUSES, area_m2, building_ward, current_ward, in_region, metric, result, ward_filter
from .rule import Rule

PROTECTED_USES = ("SON", "DKV", "RSX")    # water, green and recreation, forest
OVERLAP_TOLERANCE_M2 = 10.0
PLANNING_LAW = "Luật Quy hoạch đô thị 2009; QCVN 01:2021/BXD"


def _building_against_zone(column, limit_name: str, unit: str):
    """A building attribute above its zone's limit. Zones are few and large: each zone
    probes the buildings' spatial index for its box, the cheap comparison goes first,
    and only the buildings above the limit pay for the point-in-zone test."""
    def query(ward: str | None, region=None) -> sa.Select:
        """The buildings above their zone's limit (in the ward, within the region, when given)."""
        limit = Zone.__table__.c[limit_name]
        ward_code = building_ward()
        q = (sa.select(*result(Building.id, column, limit, column - limit, unit, Building.geom, ward_code))
             .select_from(Zone)
             .join(Building, sa.and_(Building.geom.op("&&")(Zone.geom), column > limit,
                                     gf.ST_Intersects(Zone.geom, gf.ST_PointOnSurface(Building.geom))))
             .where(Building.status.in_(LIVE_STATUSES), in_region(Building.geom, region)))
        return ward_filter(q, ward, ward_code)
    return query


def _building_sum(parcel_id, per_building) -> sa.ScalarSelect:
    """Sum over the standing and rising buildings of a parcel (its parcel-id index)."""
    return (sa.select(sa.func.sum(per_building))
            .where(Building.status.in_(LIVE_STATUSES), Building.parcel_id == parcel_id)
            .scalar_subquery())


def _parcel_against_zone(per_building, limit_name: str, unit: str, scale: float = 1.0):
    """A parcel measure (a sum over its buildings, per m² of parcel) above its zone's
    limit. Each zone probes the parcels' spatial index for its box; a ratio of plain
    areas (no transform: a ratio of areas barely changes with the projection at a
    parcel's size) keeps the candidates within 3% of the limit, and only those are
    measured in metres (EPSG:5899) and tested for their zone."""
    def query(ward: str | None, region=None) -> sa.Select:
        """The parcels above their zone's limit (in the ward, within the region, when given)."""
        limit = Zone.__table__.c[limit_name]
        rough = scale * _building_sum(Parcel.id, per_building(gf.ST_Area(Building.geom))) / gf.ST_Area(Parcel.geom)
        near = (sa.select(Parcel.id.label("id"), Parcel.geom.label("geom"), Parcel.ward_code.label("ward_code"),
                          Zone.geom.label("zone_geom"), limit.label("limit"))
                .select_from(Zone).join(Parcel, Parcel.geom.op("&&")(Zone.geom))
                .where(in_region(Parcel.geom, region), rough > limit * 0.97).subquery("near"))
        exact = scale * _building_sum(near.c.id, per_building(area_m2(Building.geom))) / area_m2(near.c.geom)
        q = (sa.select(*result(near.c.id, exact, near.c.limit, exact - near.c.limit, unit, near.c.geom,
                               near.c.ward_code))
             .where(exact > near.c.limit, gf.ST_Intersects(near.c.zone_geom, gf.ST_PointOnSurface(near.c.geom))))
        return ward_filter(q, ward, near.c.ward_code)
    return query


def _protected_overlap(ward: str | None, region=None) -> sa.Select:
    """Projects overlapping zones of protected use by more than the tolerance."""
    overlap = sa.func.sum(gf.ST_Area(gf.ST_Intersection(metric(Project.geom), metric(Zone.geom))))
    hits = (sa.select(Project.id.label("project_id"), overlap.label("m2"))
            .join(Zone, gf.ST_Intersects(Zone.geom, Project.geom))
            .where(Zone.planned_use.in_(PROTECTED_USES), in_region(Project.geom, region))
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
         _parcel_against_zone(lambda area: area, "max_coverage_pct", "%", 100.0), "%",
         "mật độ xây dựng {measured}%, vùng {zone} cho phép tối đa {limit}%",
         "coverage {measured}% of {limit}% allowed by zone {zone}"),
    Rule("parcel_far", "Thửa đất vượt hệ số sử dụng đất tối đa",
         "Parcel above the zone's maximum floor-area ratio",
         "Tổng diện tích sàn chia cho diện tích thửa vượt hệ số sử dụng đất tối đa.",
         "Total floor area over parcel area exceeds the zone's maximum floor-area ratio.",
         ("parcels", "buildings", "zoning"), "parcels", "medium", PLANNING_LAW,
         _parcel_against_zone(lambda area: area * sa.func.coalesce(Building.floors, 1), "max_far", "ratio"),
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
