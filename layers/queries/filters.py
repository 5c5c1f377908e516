"""Attribute filters of the spatial queries and exports: equality on the layer's
queryables and CQL2 (text or JSON), by the rules every endpoint shares
(`layers.filter_rules`). Both become SQL expressions with bound values."""
from __future__ import annotations

from gisdb.crs import Crs
from layers.filter_rules import cql2_clause, equality_clauses
from layers.layer import Layer


def where_clauses(layer: Layer, *, filter_text: str | dict | None = None,
                  filter_lang: str = "cql2-text", equals: dict | None = None,
                  filter_crs: str | Crs | None = None) -> list:
    """Every attribute condition of a query, ready for `.where(*clauses)`."""
    clauses = equality_clauses(layer, equals)
    clause = cql2_clause(layer, filter_text, filter_lang, filter_crs)
    if clause is not None:
        clauses.append(clause)
    return clauses
