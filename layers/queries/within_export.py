"""What lies in a drawn area as files (`/query/within?f=csv|xlsx`, the map's
draw-to-count export): the features inside, layer by layer, with their label, category
and the measure inside the area (CSV: that list alone, a plain table; XLSX: a sheet for
it, and sheets for the counts per layer, the breakdown per category and the wards'
parts), written by the reports' table writer (layers.planning.reports.tables)."""
from __future__ import annotations

from layers.planning.reports.tables import Section, csv_bytes, xlsx_bytes

from .within import MEASURES

FEATURE_HEADER = ("layer", "id", "label", "category", "inside")


def within_sections(result: dict) -> list[Section]:
    """The tables of a `within` result asked with the listing, the features first."""
    layers = result["layers"]
    return [
        Section("features", "Đối tượng trong vùng", "Features inside", FEATURE_HEADER,
                [tuple(f[k] for k in FEATURE_HEADER) for f in result.get("features", [])]),
        Section("layers", "Theo lớp", "Per layer", ("layer", "count", *MEASURES),
                [(row["layer"], row["count"], *(row.get(k) for k in MEASURES)) for row in layers]),
        Section("breakdown", "Theo loại", "Per category", ("layer", "field", "value", "count"),
                [(row["layer"], row.get("breakdown_field"), b["value"], b["count"])
                 for row in layers for b in row.get("breakdown", [])]),
        Section("wards", "Phần của phường trong vùng", "Wards' parts inside",
                ("code", "name", "inside_m2", "area_m2", "share"),
                [(w["code"], w["name"], w["inside_m2"], w["area_m2"], w["share"])
                 for w in result.get("wards", [])]),
    ]


def within_file(result: dict, fmt: str) -> bytes:
    """The export of a `within` result in `fmt` ('csv': the features alone; 'xlsx')."""
    sections = within_sections(result)
    return csv_bytes(sections[:1], titles=False) if fmt == "csv" else xlsx_bytes(sections)
