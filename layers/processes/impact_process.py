"""`impact`: road-widening (corridor) impact as a process (layers.planning.impact): the
parcels and buildings a widened road or a drawn corridor affects, with the affected area
and share of each, totals per ward and the owners' types."""
from __future__ import annotations

from gisdb.errors import InvalidParameter
from layers.planning.impact import corridor_impact
from layers.queries import inputs as query_inputs

from .count_within import POLYGON_SCHEMA
from .process import ConnectionFactory, Process, Progress, json_result, no_progress


class ImpactProcess(Process):
    """Site clearance of a road widening or a drawn corridor."""

    id = "impact"
    title = "Road-widening impact"
    title_vi = "Ảnh hưởng mở rộng đường"
    description = ("The parcels and buildings inside a road's new right-of-way (a road id or "
                   "name and the new width in metres) or a drawn corridor: affected area (m², "
                   "EPSG:5899) and share of each, totals per ward, owners' types.")
    inputs = {
        "road": {"title": "Road id or name", "minOccurs": 0, "maxOccurs": 1,
                 "schema": {"oneOf": [{"type": "integer", "minimum": 1},
                                      {"type": "string", "minLength": 1, "maxLength": 200}]}},
        "width": {"title": "New width of the road (m)", "minOccurs": 0, "maxOccurs": 1,
                  "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": 200}},
        "corridor": {"title": "Drawn corridor (GeoJSON Polygon, EPSG:4326)", "minOccurs": 0,
                     "maxOccurs": 1, "schema": POLYGON_SCHEMA},
        "at_date": {"title": "Wards valid on this date (default: today)", "minOccurs": 0,
                    "maxOccurs": 1, "schema": {"type": "string", "format": "date"}},
    }
    outputs = json_result("Corridor, affected features, per-ward totals and totals")

    def prepare(self, inputs: dict) -> dict:
        """A road with a width, or a valid corridor polygon; the date a date."""
        if ("road" in inputs) == ("corridor" in inputs):
            raise InvalidParameter("give a road and a width, or a corridor (not both)")
        if "road" in inputs and "width" not in inputs:
            raise InvalidParameter("width (metres) is required with road")
        if "corridor" in inputs:
            query_inputs.geojson_geometry(inputs["corridor"], allowed=query_inputs.AREA_TYPES)
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
