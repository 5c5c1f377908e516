"""`count-within`: the draw-to-count analysis as a process. For a drawn polygon: per
chosen layer the features inside with their measures (layers.queries.within), a
breakdown by the layer's category (land use, building use, road class), and for each
ward the drawn shape touches the part of the ward inside it, not the whole ward.
Areas in m² on the spheroid, as the spatial queries measure them."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from layers.layer import Layer
from layers.queries import expressions as ex
from layers.queries import inputs as query_inputs
from layers.queries.within import check_area, within
from layers.registry import get_layer

from .process import ConnectionFactory, Process, Progress, json_result, no_progress

LARGE_AREA_M2 = 20e6        # a drawn area larger than this runs as a job
POLYGON_SCHEMA = {
    "type": "object", "format": "geojson-geometry",
    "required": ["type", "coordinates"],
    "properties": {"type": {"enum": ["Polygon", "MultiPolygon"]},
                   "coordinates": {"type": "array", "minItems": 1}},
}


def _category_breakdown(conn: sa.Connection, layer: Layer, clip, at: dt.date) -> list[dict]:
    """Features of `layer` meeting the shape, counted per value of its category field."""
    column = layer.table.c[layer.style.category_field]
    rows = conn.execute(
        sa.select(column.label("value"), sa.func.count().label("count"))
        .where(sa.func.ST_Intersects(layer.table.c.geom, clip), *ex.valid_at(layer.table, at))
        .group_by(column).order_by(sa.func.count().desc(), column)).all()
    labels = {value: (vi, en) for value, _colour, vi, en in layer.style.categories}
    return [{"value": r.value, "label_vi": labels.get(r.value, (r.value, r.value))[0],
             "label_en": labels.get(r.value, (r.value, r.value))[1], "count": int(r.count)}
            for r in rows]


def _ward_parts(conn: sa.Connection, clip, at: dt.date) -> list[dict]:
    """Each ward (or commune) valid on `at` that the shape meets: its area, the area of
    it inside the shape, and the shares."""
    units = get_layer("admin_units").table
    inside = ex.area_m2(sa.func.ST_Intersection(units.c.geom, clip))
    rows = conn.execute(
        sa.select(units.c.code, units.c.name, ex.area_m2(units.c.geom).label("area"),
                  inside.label("inside"))
        .where(units.c.level.in_(("ward", "commune")), *ex.valid_at(units, at),
               sa.func.ST_Intersects(units.c.geom, clip))
        .order_by(units.c.code)).all()
    shape_area = conn.execute(sa.select(ex.area_m2(clip))).scalar_one() or 0.0
    return [{"code": r.code, "name": r.name, "area_m2": round(r.area, 2),
             "area_inside_m2": round(r.inside, 2),
             "share_of_ward": round(r.inside / r.area, 4) if r.area else 0.0,
             "share_of_shape": round(r.inside / shape_area, 4) if shape_area else 0.0}
            for r in rows if r.inside > 0]


class CountWithin(Process):
    """Features of chosen layers inside a drawn polygon, with breakdowns and ward parts."""

    id = "count-within"
    title = "Count features inside a drawn area"
    title_vi = "Đếm đối tượng trong vùng vẽ"
    description = ("Per layer: the features inside a drawn polygon (count, area, length, "
                   "floor area), a breakdown by the layer's category, and the part of each "
                   "ward inside the polygon. Areas in m² on the spheroid.")
    inputs = {
        "geometry": {"title": "Drawn area (GeoJSON Polygon or MultiPolygon, EPSG:4326)",
                     "schema": POLYGON_SCHEMA, "minOccurs": 1, "maxOccurs": 1},
        "layers": {"title": "Layer ids (default: every layer)", "minOccurs": 0, "maxOccurs": 1,
                   "schema": {"type": "array", "items": {"type": "string", "maxLength": 64},
                              "maxItems": 50}},
        "at_date": {"title": "Admin units valid on this date (default: today)", "minOccurs": 0,
                    "maxOccurs": 1, "schema": {"type": "string", "format": "date"}},
    }
    outputs = json_result("Counts, breakdowns and ward parts")

    def prepare(self, inputs: dict) -> dict:
        """The geometry a valid polygon within the size limit, the layers known and
        visible to the caller, the date a date."""
        check_area(query_inputs.geojson_geometry(inputs["geometry"],
                                                 allowed=query_inputs.AREA_TYPES))
        layers = query_inputs.layer_list(inputs.get("layers"))
        return {"geometry": inputs["geometry"], "layers": [layer.id for layer in layers],
                "at_date": query_inputs.date(inputs.get("at_date")).isoformat()}

    def layers_read(self, inputs: dict) -> tuple[str, ...]:
        """The chosen layers, and the admin units for the ward parts."""
        return (*inputs["layers"], "admin_units")

    def is_large(self, inputs: dict) -> bool:
        """A drawn area over LARGE_AREA_M2 runs as a job."""
        geometry = query_inputs.geojson_geometry(inputs["geometry"], allowed=query_inputs.AREA_TYPES)
        return geometry.area_m2 > LARGE_AREA_M2

    def run(self, conn_factory: ConnectionFactory, inputs: dict,
            progress: Progress = no_progress) -> dict:
        """Counts (as /query/within), then the breakdowns, then the ward parts."""
        geometry = query_inputs.geojson_geometry(inputs["geometry"], allowed=query_inputs.AREA_TYPES)
        layers = query_inputs.layer_list(inputs["layers"])
        at = dt.date.fromisoformat(inputs["at_date"])
        clip = ex.geometry_literal(geometry)
        with conn_factory() as conn:
            result = within(conn, geometry, layers, at_date=at)
            progress(40, "counted")
            for entry, layer in zip(result["layers"], layers):
                if layer.style.category_field:
                    entry["breakdown"] = {"field": layer.style.category_field,
                                          "values": _category_breakdown(conn, layer, clip, at)}
            progress(70, "broken down")
            result["wards"] = _ward_parts(conn, clip, at)
        return {"result": result}
