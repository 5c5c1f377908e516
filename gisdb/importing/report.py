"""The validation report: the same in a dry run and a real run, printed as a table and
written as JSON with `--report`. Rows in = rows loaded + rows rejected, always."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .validate import REASONS, REPAIRS


@dataclass
class ImportReport:
    layer: str
    file: str
    sha256: str
    mode: str
    dry_run: bool
    format: str = ""
    table: str | None = None
    crs: dict = field(default_factory=dict)
    encoding: str | None = None
    mapping: dict = field(default_factory=dict)
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    repaired: int = 0
    changes: dict = field(default_factory=dict)
    written_extent: list | None = None    # west, south, east, north of what changed (EPSG:4326), small imports
    reasons: dict = field(default_factory=dict)      # code -> rows
    repairs: dict = field(default_factory=dict)      # code -> rows
    details: dict = field(default_factory=dict)      # code:column -> rows
    warnings: list = field(default_factory=list)
    rejects_file: str | None = None
    import_id: int | None = None
    status: str = "running"
    message: str | None = None
    seconds: float = 0.0

    def set_outcome(self, outcome: dict) -> None:
        """Fill counts from `validate.count_outcome`, folding `code:column` details."""
        self.read = outcome["read"]
        self.rejected = outcome["rejected"]
        self.loaded = self.read - self.rejected
        self.repaired = outcome["repaired"]
        self.reasons, self.repairs, self.details = _fold(outcome["reasons"]), _fold(outcome["repairs"]), {}
        for code, count in outcome["reasons"].items():
            if ":" in code:
                self.details[code] = count

    @property
    def rows_per_second(self) -> float:
        return self.read / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        data = asdict(self)
        data["rows_per_second"] = round(self.rows_per_second, 1)
        data["seconds"] = round(self.seconds, 3)
        return data

    def write_json(self, path: str | Path) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.as_dict(), ensure_ascii=False, indent=2, default=str),
                          encoding="utf-8")
        return target

    def format_table(self) -> str:
        """A plain-text table for the terminal."""
        title = "DRY RUN - nothing was written" if self.dry_run else f"import {self.status}"
        lines = [f"{title}: {self.file} -> {self.layer} ({self.mode})",
                 f"  format {self.format}{' table ' + self.table if self.table else ''}, "
                 f"CRS {self.crs.get('crs', '?')} [{self.crs.get('source', '?')}, "
                 f"{self.crs.get('confidence', '?')}%], encoding {self.encoding or '-'}"]
        verb = "would load" if self.dry_run else "loaded"
        rows = [("rows read", self.read), (f"rows {verb}", self.loaded), ("rows rejected", self.rejected),
                ("rows repaired", self.repaired)]
        for key in ("inserted", "updated", "unchanged", "deleted"):
            if key in self.changes:
                rows.append((f"  {key}" + (" (would be)" if self.dry_run else ""), self.changes[key]))
        for code, count in self.reasons.items():
            rows.append((f"rejected: {REASONS.get(code, code)}", count))
            for detail, n in self.details.items():
                if detail.startswith(code + ":"):
                    rows.append((f"    {detail.split(':', 1)[1]}", n))
        for code, count in self.repairs.items():
            rows.append((f"repaired: {REPAIRS.get(code, code)}", count))
        width = max(len(label) for label, _ in rows) + 2
        lines += [f"  {label:<{width}}{count:>10,}" for label, count in rows]
        if self.seconds:
            lines.append(f"  {'time':<{width}}{self.seconds:>9.2f}s ({self.rows_per_second:,.0f} rows/s)")
        lines += [f"  warning: {w}" for w in self.warnings]
        if self.rejects_file:
            lines.append(f"  rejected rows with their reasons: {self.rejects_file}")
        if self.message:
            lines.append(f"  {self.message}")
        return "\n".join(lines)


def _fold(counts: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for code, count in counts.items():
        key = code.split(":", 1)[0]
        out[key] = out.get(key, 0) + count
    return out
