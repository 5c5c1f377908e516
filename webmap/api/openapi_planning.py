"""The OpenAPI paths of the planning analyses this module documents: the corridor impact
of a road widening (`/query/impact`, GET by road and width, POST of a drawn corridor)
and the ward and district reports (`/reports/{level}/{code}`)."""
from __future__ import annotations

from layers.planning.reports.tables import MEDIA_TYPES

from .openapi_services import ERROR, get, param

CSV = {"text/csv": {"schema": {"type": "string"}}}
XLSX = {MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}
PDF = {MEDIA_TYPES["pdf"]: {"schema": {"type": "string", "format": "binary"}}}
HTML = {"text/html": {"schema": {"type": "string"}}}
JSON = {"application/json": {"schema": {"type": "object"}}}
AT_DATE = param("at_date", "Day the wards are taken at (YYYY-MM-DD; today).",
                {"type": "string", "format": "date"})
POLYGON = {"type": "object", "required": ["type", "coordinates"],
           "properties": {"type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]},
                          "coordinates": {"type": "array"}}}


def impact_paths() -> dict:
    """`/query/impact`: GET by road and width, POST with a GeoJSON corridor."""
    fmt = param("f", "json (default), csv (the site-clearance list) or xlsx (list, wards, totals).",
                {"type": "string", "enum": ["json", "csv", "xlsx"]})
    by_road = get("Parcels and buildings affected by widening a road", "planning_impact", [
        param("road", "Road segment id, or a street name (all its segments).", {"type": "string"},
              required=True),
        param("width", "The new width in metres (the corridor is the centreline buffered by half).",
              {"type": "number", "minimum": 0.5, "maximum": 200}, required=True),
        AT_DATE, fmt], {**JSON, **CSV, **XLSX})
    drawn = get("Parcels and buildings affected by a drawn corridor", "planning_impactPost",
                [AT_DATE, fmt], {**JSON, **CSV, **XLSX})
    drawn["requestBody"] = {"required": True, "description": "A GeoJSON Polygon or MultiPolygon "
                            "(EPSG:4326; at most 20 km² and 10,000 vertices).",
                            "content": {"application/json": {"schema": POLYGON}}}
    drawn["responses"]["413"] = ERROR
    return {"/query/impact": {"get": by_road, "post": drawn}}


def report_paths() -> dict:
    """`/reports/ward/{code}` and `/reports/district/{code}` in every format."""
    fmt = param("f", "json (default), html (printable, with charts), csv, xlsx or pdf.",
                {"type": "string", "enum": ["json", "html", "csv", "xlsx", "pdf"]})
    code = param("code", "The unit's official code (GSO / Công văn 1027 code).", {"type": "string"},
                 where="path")
    paths = {}
    for level, title in (("ward", "ward or commune"), ("district", "district (before 1 July 2025)")):
        paths[f"/reports/{level}/{{code}}"] = {"get": get(
            f"Report of a {title}: land use, buildings, permits, incidents, violations",
            f"planning_report{level.title()}", [code, fmt], {**JSON, **HTML, **CSV, **XLSX, **PDF})}
    return paths


def planning_paths() -> dict:
    """Every path of this module, for `/api`."""
    return {**impact_paths(), **report_paths()}
