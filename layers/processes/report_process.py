"""`ward-report`: a ward's (or a district's) report figures as a process
(layers.planning.reports): land use, building density and heights, permits per month,
incidents per km of road and hotspots, violations per rule."""
from __future__ import annotations

from layers.planning.reports import district_report, ward_report

from .process import ConnectionFactory, Process, Progress, json_result, no_progress

REPORT_LAYERS = ("admin_units", "parcels", "buildings", "permits", "incidents", "roads")


class WardReportProcess(Process):
    """The figures of a ward's or a district's report."""

    id = "ward-report"
    title = "Ward or district report"
    title_vi = "Báo cáo phường/xã hoặc quận/huyện"
    description = ("The figures of a ward's (or, with level district, a district's) report: "
                   "land use, building density and heights, permits per month, incidents per "
                   "km of road and hotspots, violations per rule; as /reports/ward/{code}.")
    inputs = {
        "code": {"title": "Unit code", "minOccurs": 1, "maxOccurs": 1,
                 "schema": {"type": "string", "minLength": 1, "maxLength": 20}},
        "level": {"title": "ward (default) or district", "minOccurs": 0, "maxOccurs": 1,
                  "schema": {"type": "string", "enum": ["ward", "district"]}},
    }
    outputs = json_result("The report's figures")

    def prepare(self, inputs: dict) -> dict:
        """The level defaults to ward."""
        return {"code": inputs["code"], "level": inputs.get("level", "ward")}

    def layers_read(self, inputs: dict) -> tuple[str, ...]:
        """The layers the report reads."""
        return REPORT_LAYERS

    def run(self, conn_factory: ConnectionFactory, inputs: dict,
            progress: Progress = no_progress) -> dict:
        """The report of the unit."""
        report = ward_report if inputs["level"] == "ward" else district_report
        with conn_factory() as conn:
            return {"result": report(conn, inputs["code"])}
