"""Export a registry layer: binds `gisdb.exporting` to a `Layer` (its table, its
attributes in registry order, its geometry type) and to the same attribute filters as
the query API (equality on queryables, CQL2 text), so an export filter can never be
raw SQL."""
from __future__ import annotations

import os

import sqlalchemy as sa

from gisdb.errors import InvalidParameter
from gisdb.exporting import ExportOptions, ExportResult, ExportSource, Progress, export

from .layer import Layer
from .queries.filters import where_clauses
from .registry import get_layer


def parse_equalities(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """['field=value', ...] -> {field: value}; each field at most once."""
    out: dict[str, str] = {}
    for pair in pairs or ():
        name, sep, value = str(pair).partition("=")
        name = name.strip()
        if not sep or not name:
            raise InvalidParameter(f"{str(pair)[:60]!r}: expected field=value")
        if name in out:
            raise InvalidParameter(f"field {name!r} is given twice")
        out[name] = value
    return out


def layer_columns(layer: Layer) -> tuple[sa.Column, ...]:
    """The exported attributes: the id, every registry field, and the update time."""
    table = layer.table
    names = [layer.id_column, *(f.name for f in layer.fields)]
    if "updated_at" in table.c:
        names.append("updated_at")
    return tuple(table.c[n] for n in dict.fromkeys(names))


def layer_source(layer: Layer, *, filter_text: str | None = None,
                 equals: dict | None = None) -> ExportSource:
    """The export description of `layer`, filtered by equalities and/or CQL2 text."""
    table = layer.table
    return ExportSource(
        name=layer.id, table=table, columns=layer_columns(layer), geometry=table.c.geom,
        geometry_type="Unknown" if layer.geometry_type == "Geometry" else layer.geometry_type,
        where=tuple(where_clauses(layer, filter_text=filter_text, equals=equals)),
        order_by=(table.c[layer.id_column],), id_name=layer.id_column)


def export_layer(engine: sa.Engine, layer_id: str, out_path: str | os.PathLike,
                 options: ExportOptions = ExportOptions(), *, filter_text: str | None = None,
                 equals: dict | None = None, progress: Progress | None = None) -> ExportResult:
    """Write layer `layer_id` (NotFound if unknown) to `out_path`."""
    layer = get_layer(layer_id)
    source = layer_source(layer, filter_text=filter_text, equals=equals)
    return export(engine, source, out_path, options, progress=progress)
