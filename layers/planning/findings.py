"""Every finding of some rules as one relation (rule, severity, layer, feature, measured,
limit, excess, unit, ward, geometry): what `gisdb check --out` writes, through the
generic export engine (CSV with WKT, GeoPackage, ...)."""
from __future__ import annotations

import os

import sqlalchemy as sa

from gisdb.exporting import ExportOptions, ExportResult, ExportSource, export

from .violations import chosen_rules


def findings(rule_ids=None, ward: str | None = None) -> sa.Subquery:
    """The rules' findings, one row per (rule, feature)."""
    parts = []
    for rule in chosen_rules(rule_ids):
        found = rule.select(ward).subquery()
        parts.append(sa.select(sa.literal(rule.id, sa.Text).label("rule_id"),
                               sa.literal(rule.severity, sa.Text).label("severity"),
                               sa.literal(rule.target_layer, sa.Text).label("target_layer"),
                               sa.cast(found.c.feature_id, sa.BigInteger).label("feature_id"),
                               found.c.measured, found.c.limit_value, found.c.excess, found.c.unit,
                               sa.cast(found.c.ward_code, sa.Text).label("ward_code"), found.c.geom))
    return sa.union_all(*parts).subquery("findings")


def export_findings(engine: sa.Engine, out_path: str | os.PathLike, rule_ids=None,
                    ward: str | None = None, overwrite: bool = False) -> ExportResult:
    """Write the findings to `out_path` (format from its extension)."""
    table = findings(rule_ids, ward)
    columns = tuple(c for c in table.c if c.key != "geom")
    source = ExportSource(name="violations", table=table, columns=columns, geometry=table.c.geom,
                          order_by=(table.c.rule_id, table.c.feature_id), id_name=None)
    return export(engine, source, out_path, ExportOptions(overwrite=overwrite))
