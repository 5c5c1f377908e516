"""CQL2 filters (OGC API - Features Part 3) as SQLAlchemy expressions.

    to_expression(filter_value, lang, columns, geometry, filter_crs=None) -> ColumnElement

`columns` is the allow-list (queryable name -> column); anything else in the filter
is an InvalidFilter (HTTP 400). Values are bound parameters, never SQL text; a filter
is bounded in length (20 KB), depth (20) and number of terms (200)."""
from __future__ import annotations

import sqlalchemy as sa

from gisdb.crs import Crs, crs_from_uri
from gisdb.errors import InvalidFilter, InvalidParameter

from .json_form import parse_json
from .text import parse_text
from .to_sql import MAX_DEPTH, MAX_NODES, Builder

MAX_LENGTH = 20_000
LANGUAGES = ("cql2-text", "cql2-json")

__all__ = ["to_expression", "parse", "LANGUAGES", "MAX_LENGTH", "MAX_DEPTH", "MAX_NODES"]


def parse(filter_value: str | dict, lang: str = "cql2-text"):
    """The pygeofilter AST of a filter (bounded in length), or InvalidFilter."""
    if lang not in LANGUAGES:
        raise InvalidParameter(f"filter-lang must be one of {', '.join(LANGUAGES)}")
    if isinstance(filter_value, str):
        if len(filter_value) > MAX_LENGTH:
            raise InvalidFilter(f"the filter is longer than {MAX_LENGTH} characters")
        if not filter_value.strip():
            raise InvalidFilter("the filter is empty")
    elif not (lang == "cql2-json" and isinstance(filter_value, dict)):
        raise InvalidFilter("the filter is a string (or a JSON object for cql2-json)")
    try:
        return parse_text(filter_value) if lang == "cql2-text" else parse_json(filter_value)
    except RecursionError:
        raise InvalidFilter("the filter is nested too deeply") from None


def to_expression(filter_value: str | dict, lang: str,
                  columns: dict[str, sa.ColumnElement], geometry: sa.ColumnElement, *,
                  filter_crs: str | Crs | None = None) -> sa.ColumnElement:
    """The filter as a boolean SQL expression over `columns` and `geometry`."""
    crs = filter_crs if isinstance(filter_crs, Crs) else crs_from_uri(filter_crs, name="filter-crs")
    tree = parse(filter_value, lang)
    try:
        return Builder(columns, geometry, crs).condition(tree)
    except RecursionError:
        raise InvalidFilter("the filter is nested too deeply") from None
