"""What lies in a drawn area as files (`/query/within?f=csv|xlsx`, the map's
draw-to-count export): the features inside, layer by layer, with their label, category
and the measure inside the area (CSV: that list alone; XLSX: a sheet for it, and sheets
for the counts per layer, the breakdown per category and the wards' parts).

(When the planning reports' table writer, `layers.planning.reports.tables`, is merged,
these sheets are written through it: the same one-table-per-section shape.)"""
from __future__ import annotations

import csv
import io

from openpyxl import Workbook

from .within import MEASURES

FEATURE_HEADER = ("layer", "id", "label", "category", "inside")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def within_tables(result: dict) -> dict[str, tuple[tuple[str, ...], list[tuple]]]:
    """sheet name -> (header, rows) of a `within` result asked with the listing."""
    layers = result["layers"]
    return {
        "features": (FEATURE_HEADER, [tuple(f[k] for k in FEATURE_HEADER)
                                      for f in result.get("features", [])]),
        "layers": (("layer", "count", *MEASURES),
                   [(row["layer"], row["count"], *(row.get(k) for k in MEASURES)) for row in layers]),
        "breakdown": (("layer", "field", "value", "count"),
                      [(row["layer"], row.get("breakdown_field"), b["value"], b["count"])
                       for row in layers for b in row.get("breakdown", [])]),
        "wards": (("code", "name", "inside_m2", "area_m2", "share"),
                  [(w["code"], w["name"], w["inside_m2"], w["area_m2"], w["share"])
                   for w in result.get("wards", [])]),
    }


def within_csv(result: dict) -> bytes:
    """The features inside as one CSV table (UTF-8 with a BOM, for Excel)."""
    header, rows = within_tables(result)["features"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(("" if v is None else v for v in row) for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def within_xlsx(result: dict) -> bytes:
    """A workbook with a sheet per table, the header in the first row."""
    book = Workbook()
    book.remove(book.active)
    for name, (header, rows) in within_tables(result).items():
        sheet = book.create_sheet(name)
        sheet.append(list(header))
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def within_file(result: dict, fmt: str) -> bytes:
    """The export of a `within` result in `fmt` ('csv' or 'xlsx')."""
    return within_csv(result) if fmt == "csv" else within_xlsx(result)
