"""Whether one feature complies with the planning rules, in plain words (Vietnamese and
English): what the identify popup and `/collections/{layer}/items/{id}/compliance`
say, e.g. "7 tầng, vùng PK-HC-0012 cho phép tối đa 5" / "floors 7 of 5 allowed by
zone PK-HC-0012", "no permit on record"."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from geoalchemy2 import functions as gf

from gisdb.errors import NotFound
from layers.land import Zone

from ..registry import get_layer
from .rules import RULES, Rule


def verdict(conn: sa.Connection, layer_id: str, feature_id: int) -> dict:
    """{"complies", "findings": [{rule_id, severity, text_vi, text_en, measured,
    limit_value, unit, title_vi, title_en}]} of feature `feature_id` of `layer_id`, over
    the rules whose offending features are in that layer. NotFound for an unknown layer
    or feature."""
    layer = get_layer(layer_id)
    table = layer.table
    zone = conn.execute(sa.select(table.c.id, _zone_code(table)).where(table.c.id == feature_id)).first()
    if zone is None:
        raise NotFound(f"no feature {feature_id} in {layer_id!r}")
    findings = []
    for rule in (r for r in RULES.values() if r.target_layer == layer.id):
        found = rule.select().subquery()
        row = conn.execute(sa.select(found).where(found.c.feature_id == feature_id)).first()
        if row is not None:
            findings.append(_finding(rule, row, zone[1]))
    return {"layer": layer.id, "id": feature_id, "complies": not findings, "findings": findings}


def _zone_code(table: sa.Table) -> sa.ScalarSelect:
    """The code of the zone holding a point on the feature (None outside any zone)."""
    return (sa.select(Zone.zone_code)
            .where(gf.ST_Intersects(Zone.geom, gf.ST_PointOnSurface(table.c.geom)))
            .order_by(Zone.id).limit(1).scalar_subquery())


def _number(value) -> str:
    """A measure as people write it: 7, 28.3, 1210.5."""
    if value is None:
        return "?"
    text = format(Decimal(value).normalize(), "f")
    return text


def _finding(rule: Rule, row, zone: str | None) -> dict:
    words = {"measured": _number(row.measured), "limit": _number(row.limit_value),
             "unit": row.unit, "zone": zone or "?"}
    return {"rule_id": rule.id, "severity": rule.severity,
            "text_vi": rule.finding_vi.format(**words), "text_en": rule.finding_en.format(**words),
            "measured": float(row.measured) if row.measured is not None else None,
            "limit_value": float(row.limit_value) if row.limit_value is not None else None,
            "unit": row.unit, "title_vi": rule.title_vi, "title_en": rule.title_en}
