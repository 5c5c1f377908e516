"""What is at a point, across layers: the polygons that contain it and the lines and
points within a tolerance in metres, nearest first, with their labelled attributes.
One statement (a UNION ALL of one index-backed select per layer)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gisdb.engine import db_errors
from layers.layer import Layer
from layers.registry import source_layers
from layers.time_travel import as_of_statement

from . import expressions as ex
from .inputs import MAX_TOLERANCE_M, lon_lat, number

DEFAULT_TOLERANCE_M = 5.0
MAX_PER_LAYER = 20


def _layer_select(layer: Layer, pt, lat: float, tolerance_m: float, at: dt.date, per_layer: int):
    t = layer.table
    geom = t.c.geom
    if ex.is_area(layer):
        hit = sa.func.ST_Intersects(geom, pt)
        distance = sa.literal(0.0)
        # ordering key among containing polygons: the smallest (most specific) first;
        # degrees² are fine for ranking polygons around one point
        size = sa.func.ST_Area(geom)
    else:
        hit = ex.within_distance(geom, pt, tolerance_m, abs(lat))
        distance = ex.distance_m(geom, pt)
        size = sa.literal(0.0)
    stmt = (sa.select(sa.literal(layer.id).label("layer"),
                      sa.cast(t.c[layer.id_column], sa.BigInteger).label("id"),
                      sa.cast(distance, sa.Float).label("distance_m"),
                      sa.cast(size, sa.Float).label("size"),
                      ex.properties_json(layer, t).label("properties"),
                      *ex.bbox_columns(geom))
            .where(hit, *ex.valid_at(t, at))
            .order_by(sa.literal_column("distance_m"), sa.literal_column("size"))
            .limit(per_layer))
    return sa.select(stmt.subquery())


def identify(conn: Connection, lon, lat, layers: tuple[Layer, ...] | None = None, *,
             tolerance_m: float = DEFAULT_TOLERANCE_M, at_date: dt.date | None = None,
             per_layer: int = 5, limit: int = 50, as_of: dt.datetime | None = None) -> dict:
    """Features at (lon, lat): containing polygons (distance 0, smallest first), then
    lines and points within `tolerance_m`, nearest first. Admin units are those valid on
    `at_date` (today by default); the database as it was at `as_of` when given. Returns the point, the tolerance and the features,
    each with layer id, titles, feature id, label, distance, bbox and attributes."""
    x, y = lon_lat(lon, lat)
    tol = number(tolerance_m, "tolerance", low=0, high=MAX_TOLERANCE_M)
    per_layer = max(1, min(int(per_layer), MAX_PER_LAYER))
    at = at_date or dt.date.today()
    chosen = tuple(layers) if layers else source_layers()
    pt = ex.point_literal(x, y)
    union = sa.union_all(*(_layer_select(layer, pt, y, tol, at, per_layer) for layer in chosen))
    sub = union.subquery()
    stmt = sa.select(sub).order_by(sub.c.distance_m, sub.c.size, sub.c.layer).limit(limit)
    with db_errors():
        rows = conn.execute(as_of_statement(stmt, as_of)).all()
    by_id = {layer.id: layer for layer in chosen}
    features = []
    for row in rows:
        layer = by_id[row.layer]
        props = row.properties or {}
        features.append({
            "layer": layer.id, "layer_title_vi": layer.title_vi, "layer_title_en": layer.title_en,
            "group": layer.group, "id": row.id, "label": ex.label_of(layer, props, row.id),
            "distance_m": round(float(row.distance_m), 2), "geometry_type": layer.geometry_type,
            "bbox": ex.bbox_of(row), "properties": props,
            "attributes": ex.attributes(layer, props)})
    return {"lon": x, "lat": y, "tolerance_m": tol, "at_date": at.isoformat(),
            "numberReturned": len(features), "features": features}
