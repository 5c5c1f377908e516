"""Road-widening (corridor) impact: the site-clearance list planners prepare by hand.

A corridor is a road's centreline buffered by half the new width in EPSG:5899 metres
(every segment whose name matches, or one segment by id, unioned and merged first; round
ends), a drawn LineString/MultiLineString (a new alignment) buffered the same way, or a
drawn Polygon/MultiPolygon. Every parcel and building it touches is listed
with its whole and affected area (m², EPSG:5899), the affected share, the owner type of
the parcel (a building: of its parcel) and the current ward (or commune) that holds the
affected part's point on surface; then totals per ward and overall. PostGIS does the
geometry; Python only adds up the rows it returns."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gisdb.engine import db_errors
from gisdb.errors import InvalidParameter, NotFound
from gisdb.model import METRIC_SRID, STORAGE_SRID
from layers.queries.expressions import geometry_literal
from layers.queries.inputs import AREA_TYPES, LINE_TYPES, PLAIN_INTEGER, QueryGeometry, geojson_geometry, number
from layers.registry import get_layer

MAX_WIDTH_M = 200.0                 # a boulevard with its verges; wider is not a road widening
MAX_CORRIDOR_M2 = 20e6              # 20 km²: a long avenue at 200 m; a drawn area beyond is refused
MAX_NAME_CHARS = 200
MAX_FEATURES = 20_000               # a site-clearance list longer than this is not one project
WARD_LEVELS = ("ward", "commune")
IMPACT_LAYERS = ("parcels", "buildings")
FIELDS = ("layer", "id", "code", "name", "ward_code", "ward_name", "owner_type",
          "area_m2", "affected_m2", "share")


@dataclass
class ImpactResult:
    """The corridor (GeoJSON, EPSG:4326), the affected features, per-ward and overall totals."""

    corridor: dict
    features: list[dict] = field(default_factory=list)
    wards: list[dict] = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)

    def feature_collection(self) -> dict:
        """The affected features as a GeoJSON FeatureCollection (their whole geometries)."""
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": f"{f['layer']}.{f['id']}", "geometry": f["geometry"],
             "properties": {k: f[k] for k in FIELDS}} for f in self.features]}

    def document(self) -> dict:
        """The JSON answer of `/query/impact`."""
        return {"query": self.query, "corridor": self.corridor, "features": self.feature_collection(),
                "wards": self.wards, "totals": self.totals}


def _road_filter(road: str | int):
    """Roads chosen by id (an integer) or by name (case-insensitive, every segment)."""
    roads = get_layer("roads").table
    text = str(road).strip()
    if not text:
        raise InvalidParameter("road must be a road id or name")
    if len(text) > MAX_NAME_CHARS:
        raise InvalidParameter(f"road name is longer than {MAX_NAME_CHARS} characters")
    if isinstance(road, int) or PLAIN_INTEGER.fullmatch(text):
        if not -2**63 < int(text) < 2**63:
            raise InvalidParameter("road id is out of range")
        return roads.c.id == int(text), text
    return sa.func.lower(roads.c.name) == text.lower(), text


def check_request(road, width_m, corridor) -> QueryGeometry | None:
    """Refuse what names no single corridor: a road and a width, a drawn line and a width,
    or a drawn polygon (no width). The drawn geometry, parsed and checked, if any."""
    if (road is None) == (corridor is None):
        raise InvalidParameter("give a road and a width, or a drawn corridor (a line and a width, "
                               "or a polygon), not both")
    drawn = None if corridor is None else _geometry(corridor, LINE_TYPES + AREA_TYPES)
    linear = road is not None or drawn.geom_type in LINE_TYPES
    if linear and width_m is None:
        raise InvalidParameter("width (metres) is required with " + ("road" if road is not None else "a line"))
    if not linear and width_m is not None:
        raise InvalidParameter("width goes with a road or a drawn line; a corridor polygon has its own width")
    if linear:
        number(width_m, "width", low=0.5, high=MAX_WIDTH_M)
    return drawn


def _buffered(centreline_m, width_m) -> sa.ColumnElement:
    """WKB (EPSG:4326) of a metric centreline buffered by half the width, round ends."""
    width = number(width_m, "width", low=0.5, high=MAX_WIDTH_M)
    buffered = sa.func.ST_Buffer(centreline_m, width / 2.0, "quad_segs=8")
    return sa.func.ST_AsBinary(sa.func.ST_Transform(buffered, STORAGE_SRID))


def road_corridor(conn: Connection, road: str | int, width_m) -> tuple[bytes, list[int]]:
    """WKB (EPSG:4326) of the corridor around a road for a new width, and the ids of
    its segments; NotFound when no road matches."""
    condition, text = _road_filter(road)
    roads = get_layer("roads").table
    ids = conn.execute(sa.select(roads.c.id).where(condition).order_by(roads.c.id)).scalars().all()
    if not ids:
        raise NotFound(f"no road with id or name {text[:80]!r}")
    merged = sa.func.ST_LineMerge(sa.func.ST_Union(sa.func.ST_Transform(roads.c.geom, METRIC_SRID)))
    wkb = conn.execute(sa.select(_buffered(merged, width_m)).where(roads.c.id.in_(ids))).scalar_one()
    return bytes(wkb), list(ids)


def line_corridor(conn: Connection, line: QueryGeometry, width_m) -> bytes:
    """WKB (EPSG:4326) of the corridor around a drawn alignment for a width."""
    centreline = sa.func.ST_Transform(geometry_literal(line), METRIC_SRID)
    return bytes(conn.execute(sa.select(_buffered(centreline, width_m))).scalar_one())


def _geometry(value, allowed: tuple[str, ...]) -> QueryGeometry:
    if isinstance(value, shapely.Geometry):
        value = shapely.geometry.mapping(value)
    return geojson_geometry(value, allowed=allowed)


def drawn_corridor(corridor) -> QueryGeometry:
    """A drawn corridor: a shapely geometry, a GeoJSON geometry or Feature (dict or text),
    a valid Polygon/MultiPolygon in EPSG:4326 of at most MAX_CORRIDOR_M2."""
    qg = _geometry(corridor, AREA_TYPES)
    if qg.area_m2 > MAX_CORRIDOR_M2:
        raise InvalidParameter(f"the corridor is too large ({qg.area_m2 / 1e6:,.1f} km²; at most "
                               f"{MAX_CORRIDOR_M2 / 1e6:,.0f} km²)")
    return qg


def _code_and_name(layer_id: str, t):
    """The feature's natural key as text and its name (a parcel: its address)."""
    if layer_id == "parcels":
        code = sa.func.concat_ws("/", t.c.ward_code, t.c.sheet_no, t.c.parcel_no)
        return code, t.c.address
    return t.c.building_code, t.c.name


def _affected(layer_id: str, clip, clip_m, at: dt.date):
    """One row per feature of the layer meeting the corridor: its measures, owner type
    and the current ward holding its affected part."""
    t = get_layer(layer_id).table.alias("f")
    parcels = get_layer("parcels").table.alias("p")
    units = get_layer("admin_units").table.alias("u")
    metric = sa.func.ST_Transform(t.c.geom, METRIC_SRID)
    part = sa.func.ST_Intersection(metric, clip_m)
    code, name = _code_and_name(layer_id, t)
    owner = t.c.owner_type if layer_id == "parcels" else parcels.c.owner_type
    rows = (sa.select(t.c.id, code.label("code"), name.label("name"), owner.label("owner_type"),
                      sa.func.ST_Area(metric).label("area_m2"), sa.func.ST_Area(part).label("affected_m2"),
                      sa.func.ST_Transform(sa.func.ST_PointOnSurface(part), STORAGE_SRID).label("spot"),
                      sa.func.ST_AsGeoJSON(t.c.geom, 9).label("geometry"))
            .where(sa.func.ST_Intersects(t.c.geom, clip)))
    if layer_id == "buildings":
        rows = rows.select_from(t.outerjoin(parcels, parcels.c.id == t.c.parcel_id))
    rows = rows.offset(0).subquery()
    ward = (sa.select(units.c.code, units.c.name)
            .where(units.c.level.in_(WARD_LEVELS), units.c.valid_from <= at,
                   sa.or_(units.c.valid_to.is_(None), units.c.valid_to > at),
                   sa.func.ST_Intersects(units.c.geom, rows.c.spot))
            .order_by(units.c.code).limit(1).lateral("w"))
    return (sa.select(sa.literal(layer_id).label("layer"), rows.c.id, rows.c.code, rows.c.name,
                      rows.c.owner_type, rows.c.area_m2, rows.c.affected_m2, rows.c.geometry,
                      ward.c.code.label("ward_code"), ward.c.name.label("ward_name"))
            .select_from(rows.outerjoin(ward, sa.true()))
            .where(rows.c.affected_m2 > 0))


def _feature(row) -> dict:
    """A result row as the feature entry of the list (areas to 0.01 m², share to 1e-4)."""
    area, affected = float(row.area_m2), float(row.affected_m2)
    return {"layer": row.layer, "id": int(row.id), "code": row.code, "name": row.name,
            "ward_code": row.ward_code, "ward_name": row.ward_name, "owner_type": row.owner_type,
            "area_m2": round(area, 2), "affected_m2": round(affected, 2),
            "share": round(min(affected / area, 1.0), 4) if area > 0 else 0.0,
            "geometry": json.loads(row.geometry)}


def _sums(features: list[dict]) -> dict:
    """Counts and affected areas of parcels and buildings, and parcels by owner type."""
    out: dict = {}
    for layer_id in IMPACT_LAYERS:
        chosen = [f for f in features if f["layer"] == layer_id]
        out[layer_id] = {"count": len(chosen),
                         "affected_m2": round(sum(f["affected_m2"] for f in chosen), 2),
                         "whole": sum(1 for f in chosen if f["share"] >= 0.999)}
    owners: dict[str, int] = {}
    for f in features:
        if f["layer"] == "parcels":
            key = f["owner_type"] or "unknown"
            owners[key] = owners.get(key, 0) + 1
    out["parcels_by_owner_type"] = dict(sorted(owners.items()))
    return out


def _ward_totals(features: list[dict]) -> list[dict]:
    """Per ward (code order; features outside every current ward under `null`)."""
    wards: dict = {}
    for f in features:
        wards.setdefault((f["ward_code"] or "", f["ward_name"]), []).append(f)
    return [{"ward_code": code or None, "ward_name": name, **_sums(chosen)}
            for (code, name), chosen in sorted(wards.items(), key=lambda kv: kv[0][0])]


def corridor_impact(conn: Connection, *, road: str | int | None = None, width_m: float | None = None,
                    corridor=None, at_date: dt.date | None = None) -> ImpactResult:
    """The parcels and buildings a corridor affects (see the module docstring): by `road`
    (id or name) and `width_m`, a drawn line (shapely geometry or GeoJSON in EPSG:4326)
    and `width_m`, or a drawn polygon `corridor`. Wards are those valid on `at_date`
    (today by default)."""
    drawn = check_request(road, width_m, corridor)
    at = at_date or dt.date.today()
    with db_errors():
        if road is not None:
            wkb, segments = road_corridor(conn, road, width_m)
            qg = drawn_corridor(shapely.from_wkb(wkb))
            query = {"road": str(road), "width_m": float(width_m), "road_ids": segments}
        elif drawn.geom_type in LINE_TYPES:
            qg = drawn_corridor(shapely.from_wkb(line_corridor(conn, drawn, width_m)))
            query = {"type": drawn.geom_type, "width_m": float(width_m)}
        else:
            qg = drawn_corridor(corridor)
            query = {"type": qg.geom_type}
        clip = geometry_literal(qg)
        clip_m = sa.func.ST_Transform(clip, METRIC_SRID)
        stmt = sa.union_all(*(_affected(layer_id, clip, clip_m, at) for layer_id in IMPACT_LAYERS))
        rows = conn.execute(stmt.order_by("layer", "id").limit(MAX_FEATURES + 1)).all()
        if len(rows) > MAX_FEATURES:
            raise InvalidParameter(f"the corridor affects more than {MAX_FEATURES:,} parcels and buildings; "
                                   "give a narrower or shorter corridor")
        corridor_m2 = conn.execute(sa.select(sa.func.ST_Area(clip_m))).scalar_one()
    features = [_feature(row) for row in rows]
    query.update(at_date=at.isoformat(), corridor_area_m2=round(float(corridor_m2), 2))
    return ImpactResult(corridor=shapely.geometry.mapping(shapely.from_wkb(qg.wkb)),
                        features=features, wards=_ward_totals(features),
                        totals=_sums(features), query=query)
