"""Measures and joins the rules share: areas and distances in metres in EPSG:5899, the
zone a feature lies in, the ward of a building, the permits of a building."""
from __future__ import annotations

import sqlalchemy as sa
from geoalchemy2 import functions as gf

from gisdb.model import METRIC_SRID
from layers.construction import Building, Permit
from layers.land import AdminUnit, Parcel

LIVE_STATUSES = ("existing", "under_construction")   # buildings that stand or are being built
PERMIT_KINDS = ("new", "renovation", "extension")     # permits that allow building


def metric(geom) -> sa.ColumnElement:
    """The geometry in EPSG:5899 (metres)."""
    return gf.ST_Transform(geom, METRIC_SRID)


def area_m2(geom) -> sa.ColumnElement:
    """Area in square metres (EPSG:5899)."""
    return gf.ST_Area(metric(geom))


def building_ward() -> sa.ScalarSelect:
    """Ward code of a building: its parcel's."""
    return (sa.select(Parcel.ward_code).where(Parcel.id == Building.parcel_id)
            .scalar_subquery())


def in_region(geom, region) -> sa.ColumnElement:
    """True when the feature's box meets `region` (a geometry expression, EPSG:4326), or
    always when no region is given: the test an area refresh hands to a rule's innermost
    scan, so that it probes the spatial index for the few features around an edit."""
    return sa.true() if region is None else geom.op("&&")(region)


def permit_limits(region=None) -> sa.Subquery:
    """Per building: how many permits it has, the greatest permitted floors, floor area
    and height, and the last expiry among its valid-looking permits (only the buildings
    within `region` when given)."""
    allowing = Permit.permit_type.in_(PERMIT_KINDS)
    return (sa.select(Permit.building_id.label("building_id"),
                      sa.func.max(Permit.permitted_floors).filter(allowing).label("floors"),
                      sa.func.max(Permit.permitted_floor_area_m2).filter(allowing).label("floor_area"),
                      sa.func.max(Permit.permitted_height_m).filter(allowing).label("height"),
                      sa.func.bool_or(allowing & (Permit.status == "issued") & sa.or_(
                          Permit.expires_on.is_(None), Permit.expires_on >= sa.func.current_date()))
                      .label("valid"),
                      sa.func.bool_or(allowing & ((Permit.status == "expired") | (
                          Permit.expires_on < sa.func.current_date()))).label("expired"),
                      sa.func.max(Permit.expires_on).label("expires_on"))
            .where(Permit.building_id.is_not(None), _building_in_region(Permit.building_id, region))
            .group_by(Permit.building_id).subquery("permit_limits"))


def _building_in_region(building_id, region) -> sa.ColumnElement:
    """The building of `building_id` lies within `region` (always true without one)."""
    if region is None:
        return sa.true()
    return building_id.in_(sa.select(Building.id).where(in_region(Building.geom, region)))


def ward_filter(select: sa.Select, ward: str | None, column) -> sa.Select:
    """Restrict to one ward when asked."""
    return select if ward is None else select.where(column == ward)


def current_ward(geom_column) -> sa.ScalarSelect:
    """Code of the current ward or commune holding a point on the feature's surface."""
    return (sa.select(AdminUnit.code)
            .where(AdminUnit.level.in_(("ward", "commune")), AdminUnit.valid_to.is_(None),
                   gf.ST_Intersects(AdminUnit.geom, gf.ST_PointOnSurface(geom_column)))
            .limit(1).scalar_subquery())


def rounded(value, digits: int = 2) -> sa.ColumnElement:
    """A measure rounded for reading (numeric)."""
    return sa.func.round(sa.cast(value, sa.Numeric), digits, type_=sa.Numeric)


def result(feature_id, measured, limit, excess, unit: str, geom, ward) -> list:
    """The columns every rule returns, in the shared order (numbers as numeric)."""
    return [feature_id.label("feature_id"), rounded(measured).label("measured"),
            rounded(limit).label("limit_value"), rounded(excess).label("excess"),
            sa.literal(unit, sa.Text).label("unit"), geom.label("geom"), ward.label("ward_code")]
