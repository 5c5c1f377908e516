"""What an import writes into: a table described generically (columns, types, which are
required, the natural key, the geometry type, CHECK constraints, foreign keys).

The import engine only knows this description; `layers.importing` builds it from the
layer registry, so the engine stays free of layer knowledge."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from geoalchemy2 import Geometry

from .crs import METRIC_EPSG

# Columns the database fills itself: never mapped from a file.
SERVER_COLUMNS = ("updated_at",)


@dataclass(frozen=True)
class TargetColumn:
    name: str
    type: sa.types.TypeEngine
    required: bool                   # NOT NULL without a default: a row without it is rejected
    default: sa.ColumnElement | None = None   # server default, used when the file leaves it empty


@dataclass(frozen=True)
class ImportTarget:
    """A table an import can load, with everything validation needs to know."""

    table: sa.Table
    layer_id: str
    geometry_column: str
    geometry_type: str               # POINT | MULTIPOLYGON | MULTILINESTRING | ...
    natural_key: tuple[str, ...]
    columns: tuple[TargetColumn, ...]
    checks: tuple[tuple[str, sa.ColumnElement, frozenset], ...] = ()   # (name, expression, columns)
    references: tuple[tuple[str, sa.Column], ...] = ()      # (column, referenced column)
    extra: dict = field(default_factory=dict)
    metric_srid: int = METRIC_EPSG           # where geometry tolerances are measured, in metres
    short_names: dict = field(default_factory=dict)         # Shapefile field name -> column

    @property
    def qualified_name(self) -> str:
        return f"{self.table.schema}.{self.table.name}"

    def column(self, name: str) -> TargetColumn:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _is_server_filled(col: sa.Column) -> bool:
    return (col.primary_key or col.computed is not None or col.identity is not None
            or col.name in SERVER_COLUMNS)


def target_from_table(table: sa.Table, layer_id: str, natural_key: tuple[str, ...],
                      geometry_column: str = "geom") -> ImportTarget:
    """Describe `table` for the import engine. CHECK constraints that involve the
    geometry are left to the geometry rules (validity, emptiness, type)."""
    geom_col = table.c[geometry_column]
    if not isinstance(geom_col.type, Geometry):
        raise TypeError(f"{table.fullname}.{geometry_column} is not a geometry column")
    columns = []
    for col in table.columns:
        if _is_server_filled(col) or isinstance(col.type, Geometry):
            continue
        required = not col.nullable and col.server_default is None and col.default is None
        default = None
        if col.server_default is not None and not col.nullable:
            arg = col.server_default.arg
            default = arg if isinstance(arg, sa.ClauseElement) else sa.literal(arg, col.type)
        columns.append(TargetColumn(col.name, col.type, required, default))
    checks = []
    for constraint in table.constraints:
        if isinstance(constraint, sa.CheckConstraint):
            words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", str(constraint.sqltext)))
            if geometry_column in words:
                continue
            used = frozenset(words & set(table.c.keys()))
            checks.append((str(constraint.name), constraint.sqltext, used))
    references = []
    for fk in table.foreign_keys:
        references.append((fk.parent.name, fk.column))
    return ImportTarget(table=table, layer_id=layer_id, geometry_column=geometry_column,
                        geometry_type=geom_col.type.geometry_type.upper(),
                        natural_key=tuple(natural_key), columns=tuple(columns),
                        checks=tuple(checks), references=tuple(references))
