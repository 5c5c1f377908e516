"""Field mapping: which source field (or constant) fills which target column.

Staff write `--map name:vi=name` (repeatable; several sources for one column are tried
in order, first non-empty wins), `--set level=ward` for constants or
`--set "level=commune if name startswith 'Xã ' else ward"` for a value chosen per row
(`set_expressions`; also in the mapping file's constants), or a JSON mapping file:

    {"columns":   {"name": "name:vi", "planned_use": ["landuse", "natural"],
                   "zone_code": "$geom_hash"},
     "constants": {"level": "ward"},
     "values":    {"planned_use": {"residential": "ODT", "industrial": "SKK"}}}

Two virtual sources exist: `$fid` (the feature's position in the file, 1-based) and
`$geom_hash` (an MD5 of its geometry), for files that carry no identifier of their own.
Source fields named like a target column map to it without being asked, and so do the
shortened names the layer's own Shapefile export writes (`building_c` for
`building_code`: `short_names`, given for Shapefiles only)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidParameter
from .set_expressions import parse as parse_expression
from .target import ImportTarget

VIRTUAL_SOURCES = ("$fid", "$geom_hash")


@dataclass
class FieldMapping:
    """What the user asked for, before it is checked against a file and a table."""

    columns: dict[str, list[str]] = field(default_factory=dict)     # target -> sources
    constants: dict[str, str] = field(default_factory=dict)          # target -> value
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # target -> {src: dst}

    @classmethod
    def from_options(cls, maps: tuple[str, ...] = (), sets: tuple[str, ...] = (),
                     map_file: str | Path | None = None) -> "FieldMapping":
        mapping = cls.from_file(map_file) if map_file else cls()
        for item in maps:
            src, sep, dst = item.rpartition("=")
            if not sep or not src or not dst:
                raise InvalidParameter(f"--map expects SOURCE=COLUMN, got {item!r}")
            mapping.columns.setdefault(dst.strip(), []).append(src.strip())
        for item in sets:
            dst, sep, value = item.partition("=")
            if not sep or not dst:
                raise InvalidParameter(f"--set expects COLUMN=VALUE, got {item!r}")
            mapping.constants[dst.strip()] = value
        return mapping

    @classmethod
    def from_file(cls, path: str | Path) -> "FieldMapping":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        except (OSError, ValueError) as exc:
            raise InvalidParameter(f"cannot read the mapping file {path}: {exc}") from None
        if not isinstance(data, dict) or set(data) - {"columns", "constants", "values"}:
            raise InvalidParameter("a mapping file is a JSON object with keys columns, constants, values")
        columns = {}
        for dst, src in (data.get("columns") or {}).items():
            columns[dst] = [src] if isinstance(src, str) else [str(s) for s in src]
        constants = {k: str(v) for k, v in (data.get("constants") or {}).items()}
        values = {k: {str(a): str(b) for a, b in v.items()} for k, v in (data.get("values") or {}).items()}
        return cls(columns=columns, constants=constants, values=values)


@dataclass(frozen=True)
class ColumnPlan:
    """How one target column is filled: from source fields (by index in the file's field
    list, coalesced), a virtual source, or a constant; with an optional value map."""

    column: str
    fields: tuple[int, ...] = ()
    virtual: str | None = None
    constant: str | None = None
    values: dict | None = None
    cases: tuple[tuple[int, str, str, str], ...] = ()   # (field index, operator, literal, value)

    def describe(self, field_names: list[str]) -> str:
        if self.cases:
            chosen = " else ".join(f"{value!r} if {field_names[i]} {op} {literal!r}"
                                   for i, op, literal, value in self.cases)
            return f"{chosen} else {self.constant!r}"
        if self.constant is not None:
            return repr(self.constant)
        if self.virtual:
            return self.virtual
        return " | ".join(field_names[i] for i in self.fields)


def _constant_plan(col: str, text: str, by_name: dict, by_lower: dict, field_names: list[str]) -> ColumnPlan:
    """A constant, or a value chosen per row when `text` is a `--set` expression."""
    choice = parse_expression(col, text)
    if choice is None:
        return ColumnPlan(col, constant=text)
    cases = []
    for case in choice.cases:
        index = by_name.get(case.field, by_lower.get(case.field.lower()))
        if index is None:
            raise InvalidParameter(f"--set {col}=...: the file has no field {case.field!r} "
                                   f"(fields: {', '.join(field_names) or 'none'})")
        cases.append((index, case.operator, case.literal, case.result))
    return ColumnPlan(col, constant=choice.default, cases=tuple(cases))


def _implicit(col: str, by_lower: dict[str, int], short: dict[str, str]) -> int | None:
    """The file field that fills `col` unasked: its own name, else its shortened name."""
    if col.lower() in by_lower:
        return by_lower[col.lower()]
    return by_lower.get(short.get(col, "").lower())


def resolve(mapping: FieldMapping, target: ImportTarget, field_names: list[str],
            short_names: dict[str, str] | None = None) -> list[ColumnPlan]:
    """Check the mapping against the file's fields and the target's columns; returns one
    plan per target column that gets a value. Unknown names are an InvalidParameter.
    `short_names` (shortened name, lower case -> column) lets a Shapefile's cut names in."""
    known = set(target.column_names)
    by_name = {name: i for i, name in enumerate(field_names)}
    by_lower = {name.lower(): i for i, name in enumerate(field_names)}
    short = {column: name for name, column in (short_names or {}).items()}
    for dst in (*mapping.columns, *mapping.constants, *mapping.values):
        if dst not in known:
            raise InvalidParameter(f"{target.layer_id} has no column {dst!r} "
                                   f"(columns: {', '.join(sorted(known))})")
    plans = []
    for col in target.column_names:
        values = mapping.values.get(col)
        if col in mapping.constants:
            plans.append(_constant_plan(col, mapping.constants[col], by_name, by_lower, field_names))
        elif col in mapping.columns:
            sources = mapping.columns[col]
            virtual = [s for s in sources if s in VIRTUAL_SOURCES]
            if virtual:
                if len(sources) > 1:
                    raise InvalidParameter(f"{col}: {virtual[0]} cannot be combined with other sources")
                plans.append(ColumnPlan(col, virtual=virtual[0], values=values))
                continue
            missing = [s for s in sources if s not in by_name]
            if missing:
                raise InvalidParameter(f"the file has no field {missing[0]!r} "
                                       f"(fields: {', '.join(field_names) or 'none'})")
            plans.append(ColumnPlan(col, fields=tuple(by_name[s] for s in sources), values=values))
        elif _implicit(col, by_lower, short) is not None:
            plans.append(ColumnPlan(col, fields=(_implicit(col, by_lower, short),), values=values))
    filled = {p.column for p in plans}
    unfilled = [c.name for c in target.columns if c.required and c.name not in filled]
    if unfilled:
        raise InvalidParameter(f"nothing fills the required column(s) {', '.join(unfilled)} of "
                               f"{target.layer_id}: map a field (--map FIELD={unfilled[0]}) or set a value "
                               f"(--set {unfilled[0]}=...); the file has: {', '.join(field_names) or 'no fields'}")
    return plans
