"""`impact`: road-widening (corridor) impact as a process (layers.planning.impact): the
parcels and buildings a widened road or a drawn corridor affects, with the affected area
and share of each, totals per ward and the owners' types."""
from __future__ import annotations

from layers.planning.impact import check_request, corridor_impact
from layers.queries import inputs as query_inputs

from .count_within import POLYGON_SCHEMA
from .process import ConnectionFactory, Process, Progress, json_result, no_progress

CORRIDOR_SCHEMA = {**POLYGON_SCHEMA, "properties": {
    **POLYGON_SCHEMA["properties"],
    "type": {"enum": ["Polygon", "MultiPolygon", "LineString", "MultiLineString"]}}}


class ImpactProcess(Process):
    """Site clearance of a road widening or a drawn corridor."""

    id = "impact"
    title = "Road-widening impact"
    title_vi = "Ảnh hưởng mở rộng đường"
    description = ("The parcels and buildings inside a road's new right-of-way (a road id or "
                   "name and the new width in metres), a drawn alignment and a width, or a drawn corridor: affected area (m², "
                   "EPSG:5899) and share of each, totals per ward, owners' types.")
    inputs = {
        "road": {"title": "Road id or name", "minOccurs": 0, "maxOccurs": 1,
                 "schema": {"oneOf": [{"type": "integer", "minimum": 1},
                                      {"type": "string", "minLength": 1, "maxLength": 200}]}},
        "width": {"title": "New width of the road (m)", "minOccurs": 0, "maxOccurs": 1,
                  "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": 200}},
        "corridor": {"title": "Drawn corridor: a GeoJSON Polygon, or a LineString with a width "
                              "(EPSG:4326)", "minOccurs": 0, "maxOccurs": 1, "schema": CORRIDOR_SCHEMA},
        "at_date": {"title": "Wards valid on this date (default: today)", "minOccurs": 0,
                    "maxOccurs": 1, "schema": {"type": "string", "format": "date"}},
    }
    outputs = json_result("Corridor, affected features, per-ward totals and totals")

    def prepare(self, inputs: dict) -> dict:
        """A road with a width, a drawn line with a width, or a valid corridor polygon;
        the date a date."""
        check_request(inputs.get("road"), inputs.get("width"), inputs.get("corridor"))
        return {**inputs, "at_date": query_inputs.date(inputs.get("at_date")).isoformat()}

    def layers_read(self, inputs: dict) -> tuple[str, ...]:
        """The affected layers, the roads and the wards."""
        return ("parcels", "buildings", "roads", "admin_units")

    def run(self, conn_factory: ConnectionFactory, inputs: dict,
            progress: Progress = no_progress) -> dict:
        """The impact, as `/query/impact` answers it."""
        with conn_factory() as conn:
            result = corridor_impact(conn, road=inputs.get("road"), width_m=inputs.get("width"),
                                     corridor=inputs.get("corridor"),
                                     at_date=query_inputs.date(inputs["at_date"]))
        return {"result": result.document()}
