"""Features of one layer within a distance (metres) of a point or a line, nearest
first: "which buildings lie within 50 m of this road", "cameras within 300 m of here"."""
from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gisdb.engine import db_errors
from gisdb.errors import InvalidParameter
from layers.layer import Layer
from layers.time_travel import as_of_statement

from . import expressions as ex
from .filters import where_clauses
from .inputs import LINE_TYPES, MAX_DISTANCE_M, POINT_TYPES, QueryGeometry, integer, number

DEFAULT_LIMIT = 100
MAX_LIMIT = 1_000
NEAR_TYPES = POINT_TYPES + LINE_TYPES


def near(conn: Connection, layer: Layer, geometry: QueryGeometry, distance_m, *,
         filter_text: str | None = None, filter_lang: str = "cql2-text",
         equals: dict | None = None, limit=DEFAULT_LIMIT, offset=0,
         at_date: dt.date | None = None, with_geometry: bool = True, filter_crs=None,
         as_of: dt.datetime | None = None) -> dict:
    """A GeoJSON FeatureCollection of `layer`'s features within `distance_m` of
    `geometry`, sorted by distance; each feature carries `distance_m` and a label.
    `numberMatched` counts all matches (bounded by the distance, so never a full scan).
    With `as_of`, the layer as it was at that instant."""
    if geometry.is_circle or geometry.geom_type not in NEAR_TYPES:
        raise InvalidParameter("near needs a Point, MultiPoint, LineString or MultiLineString, "
                               "got " + (geometry.geom_type or "nothing"))
    d = number(distance_m, "distance", low=0, high=MAX_DISTANCE_M)
    limit = integer(limit, "limit", low=1, high=MAX_LIMIT)
    offset = integer(offset, "offset", low=0, high=1_000_000)
    t = layer.table
    target = ex.geometry_literal(geometry)
    conditions = [ex.within_distance(t.c.geom, target, d, geometry.max_abs_lat),
                  *ex.valid_at(t, at_date or dt.date.today()),
                  *where_clauses(layer, filter_text=filter_text, filter_lang=filter_lang,
                                 equals=equals, filter_crs=filter_crs)]
    distance = sa.cast(ex.distance_m(t.c.geom, target), sa.Float).label("distance_m")
    columns = [sa.cast(t.c[layer.id_column], sa.BigInteger).label("id"), distance,
               ex.properties_json(layer, t).label("properties"), *ex.bbox_columns(t.c.geom)]
    if with_geometry:
        columns.append(sa.func.ST_AsGeoJSON(t.c.geom, 7).label("geometry"))
    stmt = (sa.select(*columns).where(*conditions)
            .order_by(sa.literal_column("distance_m"), t.c[layer.id_column])
            .limit(limit).offset(offset))
    count = sa.select(sa.func.count()).select_from(t).where(*conditions)
    with db_errors():
        rows = conn.execute(as_of_statement(stmt, as_of)).all()
        matched = conn.execute(as_of_statement(count, as_of)).scalar_one()
    features = []
    for row in rows:
        props = dict(row.properties or {})
        props["distance_m"] = round(float(row.distance_m), 2)
        feature = {"type": "Feature", "id": row.id, "bbox": ex.bbox_of(row),
                   "properties": props, "label": ex.label_of(layer, props, row.id)}
        if with_geometry:
            feature["geometry"] = json.loads(row.geometry)
        features.append(feature)
    return {"type": "FeatureCollection", "layer": layer.id, "distance_m": d,
            "numberMatched": matched, "numberReturned": len(features), "features": features}

