"""A report rendered as a file: JSON, CSV (a block per section), XLSX (a sheet per
section) or PDF, by format name or by a file's extension."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from gisdb.errors import InvalidParameter

from .pdf import report_pdf
from .report_tables import report_sections
from .tables import MEDIA_TYPES, csv_bytes, xlsx_bytes


def render(report: dict, fmt: str) -> bytes:
    """The report's bytes in `fmt` (json, csv, xlsx or pdf)."""
    if fmt == "json":
        return json.dumps(report, ensure_ascii=False).encode("utf-8")
    if fmt == "csv":
        return csv_bytes(report_sections(report))
    if fmt == "xlsx":
        return xlsx_bytes(report_sections(report))
    if fmt == "pdf":
        return report_pdf(report)
    raise InvalidParameter(f"format must be one of {', '.join(MEDIA_TYPES)}, got {str(fmt)[:20]!r}")


def write_report(report: dict, out: str | os.PathLike) -> Path:
    """Write the report to `out` in the format its extension names, through a temporary
    file renamed into place."""
    path = Path(out)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in MEDIA_TYPES:
        raise InvalidParameter(f"--out must end in .{', .'.join(MEDIA_TYPES)}, got {path.name!r}")
    data = render(report, fmt)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=path.suffix) as tmp:
        tmp.write(data)
    os.replace(tmp.name, path)
    return path
