"""Tables of an analysis as files: CSV (one block per section: its title, a header row,
the rows, a blank line) and XLSX (one sheet per section, numbers stored as numbers).
The ward reports and the corridor impact both render through here."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.styles import Font

SHEET_NAME_CHARS = 31                      # Excel's limit
MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "pdf": "application/pdf"}
_SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Section:
    """One table: a key (sheet name), its titles and its rows under `header`."""

    key: str
    title_vi: str
    title_en: str
    header: tuple[str, ...]
    rows: list[tuple] = field(default_factory=list)


def csv_bytes(sections: list[Section], *, titles: bool = True) -> bytes:
    """UTF-8 CSV (with a BOM, so that Excel reads Vietnamese) of the sections, one block
    each; `titles=False` writes a single section as a plain table."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for n, section in enumerate(sections):
        if titles:
            if n:
                writer.writerow([])
            writer.writerow([f"# {section.title_vi} / {section.title_en}"])
        writer.writerow(section.header)
        writer.writerows([_cell(v) for v in row] for row in section.rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _cell(value):
    """A value as a CSV or sheet cell: None stays empty, lists are joined."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return value


def sheet_name(key: str) -> str:
    """A valid, short sheet name."""
    return _SHEET_UNSAFE.sub("_", key)[:SHEET_NAME_CHARS] or "sheet"


def xlsx_bytes(sections: list[Section]) -> bytes:
    """An XLSX workbook with a sheet per section: the titles in A1, the header in row 2
    (bold), then the rows."""
    book = Workbook()
    book.remove(book.active)
    for section in sections:
        sheet = book.create_sheet(sheet_name(section.key))
        sheet.append([f"{section.title_vi} / {section.title_en}"])
        sheet.append(list(section.header))
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in section.rows:
            sheet.append([_cell(v) for v in row])
        sheet.freeze_panes = "A3"
    if not book.sheetnames:
        book.create_sheet("empty")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
