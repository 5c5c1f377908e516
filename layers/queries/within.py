"""What lies inside a drawn area (polygon, or circle = centre + radius), per layer:
counts and the measures planners ask for, in metres on the spheroid. Parcels and other
polygons: total area and the area inside the drawn shape; buildings: floor area
(footprint x floors; an unknown or zero floor count counts as one floor); roads: total
length and length inside; points: counts.

A feature is "in" the area when it intersects it (a circle: when it lies within the
radius of the centre, exactly). One statement computes every layer's aggregates."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gisdb.engine import db_errors
from gisdb.errors import InvalidParameter
from layers.layer import Layer
from layers.registry import get_layer, source_layers
from layers.time_travel import as_of_statement

from . import expressions as ex
from . import within_parts as parts
from .inputs import AREA_TYPES, MAX_QUERY_AREA_M2, QueryGeometry, integer

MAX_IDS = 1_000
MEASURES = ("area_m2", "area_inside_m2", "length_m", "length_inside_m", "floor_area_m2",
            "floors_unknown")


def _aggregate(layer: Layer, qg: QueryGeometry, clip, at: dt.date):
    """One row of sums for `layer`. Each feature's spheroidal measure is computed once,
    in a derived table kept apart by OFFSET 0 (so the planner does not inline and repeat
    it), and reused for the whole, the inside part and the floor area; the intersection
    with the drawn shape is computed only for features that cross its boundary."""
    t = layer.table
    geom = t.c.geom
    measure = ex.area_m2 if ex.is_area(layer) else ex.length_m if ex.is_line(layer) else None
    per_feature = [sa.literal(1).label("one")]
    if measure is not None:
        covered = sa.func.ST_CoveredBy(geom, clip)
        per_feature += [measure(geom).label("m"), covered.label("covered"),
                        sa.case((covered, None),
                                else_=measure(sa.func.ST_Intersection(geom, clip))).label("part")]
    if "floors" in t.c:
        per_feature.append(t.c.floors.label("floors"))
    rows = (sa.select(*per_feature).where(ex.selects(geom, qg, clip), *ex.valid_at(t, at))
            .offset(0).subquery())
    values = dict.fromkeys(MEASURES, sa.cast(sa.null(), sa.Float))
    if measure is not None:
        whole, inside = ("area_m2", "area_inside_m2") if ex.is_area(layer) \
            else ("length_m", "length_inside_m")
        values[whole] = sa.func.sum(rows.c.m)
        values[inside] = sa.func.sum(sa.case((rows.c.covered, rows.c.m), else_=rows.c.part))
    if "floors" in rows.c and measure is not None:
        values["floor_area_m2"] = sa.func.sum(
            rows.c.m * sa.func.greatest(sa.func.coalesce(rows.c.floors, 1), 1))
        values["floors_unknown"] = sa.func.count().filter(rows.c.floors.is_(None))
    return sa.select(sa.literal(layer.id).label("layer"), sa.func.count().label("count"),
                     *(sa.cast(v, sa.Float).label(k) for k, v in values.items())).select_from(rows)


def _ids(layer: Layer, qg: QueryGeometry, clip, at: dt.date, n: int):
    """Up to n ids (smallest first) of the layer's features in the area."""
    t = layer.table
    key = t.c[layer.id_column]
    inner = (sa.select(sa.literal(layer.id).label("layer"), sa.cast(key, sa.BigInteger).label("id"))
             .where(ex.selects(t.c.geom, qg, clip), *ex.valid_at(t, at))
             .order_by(key).limit(n)).subquery()
    return sa.select(inner)


def check_area(qg: QueryGeometry) -> None:
    """A drawn area must be a polygon (or circle) of at most MAX_QUERY_AREA_M2."""
    if not qg.is_circle and qg.geom_type not in AREA_TYPES:
        raise InvalidParameter("within needs a Polygon or MultiPolygon (or a circle), got "
                               + (qg.geom_type or "nothing"))
    if qg.area_m2 > MAX_QUERY_AREA_M2:
        raise InvalidParameter(f"the area is too large ({qg.area_m2 / 1e6:,.0f} km²; at most "
                               f"{MAX_QUERY_AREA_M2 / 1e6:,.0f} km²)")


def within(conn: Connection, geometry: QueryGeometry, layers: tuple[Layer, ...] | None = None, *,
           at_date: dt.date | None = None, feature_ids: int = 0,
           as_of: dt.datetime | None = None, breakdown: bool = False,
           wards: bool = False, listing: bool = False) -> dict:
    """Per layer: `count` and the measures that apply (see the module docstring), plus up
    to `feature_ids` feature ids (smallest first) when asked. Admin units are those valid
    on `at_date` (today by default); the database as it was at `as_of` when given. With
    `breakdown`, each layer's counts per category; with `wards`, the part of each ward
    inside the area; with `listing`, the features themselves (`within_parts`)."""
    check_area(geometry)
    n_ids = integer(feature_ids, "features", low=0, high=MAX_IDS)
    at = at_date or dt.date.today()
    chosen = tuple(layers) if layers else source_layers()
    clip = ex.geometry_literal(geometry)
    stmt = sa.union_all(*(_aggregate(layer, geometry, clip, at) for layer in chosen))
    with db_errors():
        rows = {row.layer: row for row in conn.execute(as_of_statement(stmt, as_of))}
        ids: dict[str, list[int]] = {layer.id: [] for layer in chosen}
        if n_ids:
            ids_stmt = sa.union_all(*(_ids(layer, geometry, clip, at, n_ids) for layer in chosen))
            for row in conn.execute(as_of_statement(ids_stmt, as_of)):
                ids[row.layer].append(row.id)
    out = []
    for layer in chosen:
        row = rows[layer.id]
        entry = {"layer": layer.id, "title_vi": layer.title_vi, "title_en": layer.title_en,
                 "group": layer.group, "geometry_type": layer.geometry_type, "count": row.count}
        for key in MEASURES:
            value = getattr(row, key)
            if value is not None or (row.count == 0 and _applies(layer, key)):
                entry[key] = round(float(value or 0.0), 2) if key != "floors_unknown" else int(value or 0)
        if n_ids:
            entry["ids"] = ids[layer.id]
        out.append(entry)
    query = {"type": "circle", "center": list(geometry.center), "radius_m": geometry.radius_m} \
        if geometry.is_circle else {"type": geometry.geom_type}
    query["area_m2"] = round(geometry.area_m2, 2)
    query["bbox"] = [round(v, 7) for v in geometry.bounds]
    result = {"query": query, "at_date": at.isoformat(), "layers": out}
    _add_parts(conn, result, chosen, geometry, clip, at, as_of, (breakdown, wards, listing))
    return result


def _add_parts(conn: Connection, result: dict, chosen: tuple[Layer, ...], geometry: QueryGeometry,
               clip, at: dt.date, as_of, wanted: tuple[bool, bool, bool]) -> None:
    """The breakdowns, ward parts and feature list asked for, added to `result`."""
    breakdown, wards, listing = wanted

    def run(stmt):
        return conn.execute(as_of_statement(stmt, as_of))
    with db_errors():
        if breakdown:
            per_layer = parts.breakdowns(conn, chosen, geometry, clip, at, run)
            for entry in result["layers"]:
                if entry["layer"] in per_layer or parts.category_field(get_layer(entry["layer"])):
                    entry["breakdown"] = per_layer.get(entry["layer"], [])
                    entry["breakdown_field"] = parts.category_field(get_layer(entry["layer"]))
        if wards:
            result["wards"] = parts.ward_parts(clip, at, run)
        if listing:
            result["features"] = parts.features(chosen, geometry, clip, at, run)


def _applies(layer: Layer, key: str) -> bool:
    if key in ("area_m2", "area_inside_m2"):
        return ex.is_area(layer)
    if key in ("floor_area_m2", "floors_unknown"):
        return ex.is_area(layer) and "floors" in layer.table.c
    return ex.is_line(layer)
