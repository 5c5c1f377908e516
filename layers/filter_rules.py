"""The one rule book for filtering a layer.

The feature API (`/items`), the tiles and the spatial queries (`/query/*`, exports) follow
it, so that the same filter gets the same answer and the same error everywhere:

- which attributes may filter: the layer's queryables (what `/queryables` lists) and,
  in spatial predicates, `geometry`; nothing else (not the internal `id`);
- how large a filter may be: `MAX_FILTER_CHARS` characters, and the term and depth
  limits of `gisdb.cql2` (IN list items count as terms);
- how an equality value (`?floors=3`) is typed: by the column, with one wording for
  values that do not fit;
- `filter-crs` for geometry literals, and the `datetime` clause on the layer's time field
  or, for a layer with a validity interval (`valid_from` to `valid_to`, the end
  exclusive and open when NULL), the units valid at that instant or overlapping that
  interval, as `/query/identify?at_date=` selects them.
"""
from __future__ import annotations

import sqlalchemy as sa

from gisdb import cql2
from gisdb.cql2.to_sql import coerce_value
from gisdb.crs import Crs
from gisdb.errors import InvalidFilter, InvalidParameter
from gisdb.temporal import TimeRange, parse_datetime, time_bounds

from .layer import Layer

MAX_FILTER_CHARS = cql2.MAX_LENGTH
MAX_EQUALITIES = 20


def filter_columns(layer: Layer) -> dict[str, sa.Column]:
    """The allow-list: queryable name -> column."""
    return {f.name: layer.column(f.name) for f in layer.queryables}


def equality_value(layer: Layer, name: str, raw) -> tuple:
    """(value, SQL type) of `name = raw` (raw is usually URL text), typed by the column;
    InvalidFilter for an attribute outside the allow-list or a value that does not fit."""
    columns = filter_columns(layer)
    if name not in columns:
        raise InvalidFilter(f"unknown property {str(name)[:64]!r}; see the collection's queryables")
    return coerce_value(raw, columns[name].type, name=name)


def equality_clauses(layer: Layer, equals: dict | None) -> list[sa.ColumnElement]:
    """`name = value` for each pair (a JSON null means IS NULL)."""
    if not equals:
        return []
    if len(equals) > MAX_EQUALITIES:
        raise InvalidParameter(f"at most {MAX_EQUALITIES} equality filters")
    columns = filter_columns(layer)
    clauses = []
    for name, raw in equals.items():
        if raw is None and name in columns:
            clauses.append(columns[name].is_(None))
        else:
            value, type_ = equality_value(layer, name, raw)
            clauses.append(columns[name] == sa.literal(value, type_))
    return clauses


def cql2_clause(layer: Layer, value: str | dict | None, lang: str | None = "cql2-text",
                filter_crs: str | Crs | None = None) -> sa.ColumnElement | None:
    """A CQL2 filter (text, or JSON for cql2-json) as one SQL expression over the
    allow-list and the layer's geometry; None when there is no filter."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return cql2.to_expression(value, lang or "cql2-text", filter_columns(layer),
                              layer.table.c.geom, filter_crs=filter_crs)


def datetime_bounds(layer: Layer, span: TimeRange) -> tuple:
    """`gisdb.temporal.time_bounds` of `span` against the layer's time field."""
    return time_bounds(span, layer.column(layer.time_field).type)


def time_condition(layer: Layer, bound: sa.ColumnElement, op: str) -> sa.ColumnElement:
    """time field `op` bound, op one of '>=' (the start of `datetime`), '<=' or '<' (its
    end). For a layer with a validity interval the start bound is compared with the
    interval's end instead: a unit still valid after the start (or with no end) overlaps."""
    column = layer.column(layer.time_field)
    if op == ">=" and layer.time_end_field:
        end = layer.column(layer.time_end_field)
        return sa.or_(end.is_(None), end > bound)
    return {">=": column >= bound, "<=": column <= bound, "<": column < bound}[op]


def datetime_clause(layer: Layer, span: TimeRange | str | None) -> sa.ColumnElement | None:
    """OGC `datetime` (an instant or `start/end` with `..` open ends) on the layer's time
    field, or overlapping its validity interval; None when absent or when the layer has
    no time field."""
    if isinstance(span, str):
        span = parse_datetime(span) if span.strip() else None
    if span is None or not layer.time_field:
        return None
    lower, upper = datetime_bounds(layer, span)
    conditions = []
    if lower is not None:
        conditions.append(time_condition(layer, sa.literal(*lower), ">="))
    if upper is not None:
        value, type_, op = upper
        conditions.append(time_condition(layer, sa.literal(value, type_), op))
    return sa.and_(*conditions)
