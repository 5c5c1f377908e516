"""Attribute filters of the spatial queries: equality on the layer's queryables
(values typed by the column), and CQL2 text through `gisdb.cql2` (the same parser and
allow-list as the feature API). Both become SQL expressions with bound values."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from gisdb import cql2
from gisdb.errors import InvalidFilter, InvalidParameter
from layers.layer import Layer

MAX_FILTER_CHARS = 4_000
MAX_EQUALITIES = 20
TRUE_WORDS = {"true", "1", "yes", "t"}
FALSE_WORDS = {"false", "0", "no", "f"}


def _typed(column: sa.Column, name: str, raw):
    """`raw` (usually text from a URL) as the Python type of `column`."""
    if raw is None:
        return None
    try:
        kind = column.type.python_type
    except NotImplementedError:
        kind = str
    text = str(raw).strip()
    try:
        if kind is bool:
            if text.lower() in TRUE_WORDS:
                return True
            if text.lower() in FALSE_WORDS:
                return False
            raise ValueError(text)
        if kind is int:
            return int(text)
        if kind is Decimal:
            return Decimal(text)
        if kind is float:
            return float(text)
        if kind is dt.datetime:
            return dt.datetime.fromisoformat(text)
        if kind is dt.date:
            return dt.date.fromisoformat(text)
    except (ValueError, InvalidOperation):
        raise InvalidParameter(f"{name} must be a {kind.__name__}, got {text[:40]!r}") from None
    return text


def equality_clauses(layer: Layer, equals: dict | None) -> list:
    """`field = value` for each pair; fields must be the layer's queryables."""
    if not equals:
        return []
    if len(equals) > MAX_EQUALITIES:
        raise InvalidParameter(f"at most {MAX_EQUALITIES} equality filters")
    allowed = {f.name for f in layer.queryables}
    clauses = []
    for name, raw in equals.items():
        if name not in allowed:
            raise InvalidParameter(f"{str(name)[:40]!r} is not a queryable of layer {layer.id!r}")
        column = layer.table.c[name]
        value = _typed(column, name, raw)
        clauses.append(column.is_(None) if value is None else column == value)
    return clauses


def cql2_clause(layer: Layer, value: str | dict | None, lang: str = "cql2-text"):
    """A CQL2 filter (text, or JSON for cql2-json) as one SQL expression over the
    layer's queryables and its geometry (the feature API's parser and allow-list)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and len(value) > MAX_FILTER_CHARS:
        raise InvalidFilter(f"filter is longer than {MAX_FILTER_CHARS} characters")
    columns = {f.name: layer.table.c[f.name] for f in layer.queryables}
    return cql2.to_expression(value, lang, columns, layer.table.c.geom)


def where_clauses(layer: Layer, *, filter_text: str | None = None,
                  filter_lang: str = "cql2-text", equals: dict | None = None) -> list:
    """Every attribute condition of a query, ready for `.where(*clauses)`."""
    clauses = equality_clauses(layer, equals)
    clause = cql2_clause(layer, filter_text, filter_lang)
    if clause is not None:
        clauses.append(clause)
    return clauses
