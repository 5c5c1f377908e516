"""The report's violations section: open violations per rule in the unit, read from
`planning.violations` (the rules' results layer) when that table exists, with each
rule's titles when the rule catalogue is installed. Until then the section says the
layer is not there (`available: false`) rather than inventing zeros."""
from __future__ import annotations

import importlib

import sqlalchemy as sa
from sqlalchemy.engine import Connection

SCHEMA, TABLE = "planning", "violations"
VIOLATIONS = sa.table(TABLE, sa.column("rule_id"), sa.column("severity"), sa.column("geom"),
                      schema=SCHEMA)


def _titles() -> dict:
    """{rule id: (title_vi, title_en)} from the rule catalogue, when it is installed."""
    try:
        rules = importlib.import_module("layers.planning.rules").RULES
    except (ImportError, AttributeError):
        return {}
    return {rule_id: (rule.title_vi, rule.title_en) for rule_id, rule in rules.items()}


def violations_per_rule(conn: Connection, area) -> dict:
    """{"available": bool, "total": n, "rules": [{rule_id, title_vi, title_en, severity, count}]}
    for the violations whose point on surface lies in `area`."""
    exists = conn.execute(sa.select(sa.func.to_regclass(f"{SCHEMA}.{TABLE}"))).scalar_one()
    if exists is None:
        return {"available": False, "total": 0, "rules": []}
    v = VIOLATIONS
    rows = conn.execute(sa.select(v.c.rule_id, v.c.severity, sa.func.count().label("n"))
                        .where(v.c.geom.op("&&")(area),
                               sa.func.ST_Intersects(area, sa.func.ST_PointOnSurface(v.c.geom)))
                        .group_by(v.c.rule_id, v.c.severity).order_by(sa.text("n DESC"), v.c.rule_id)).all()
    titles = _titles()
    return {"available": True, "total": sum(int(r.n) for r in rows), "rules": [
        {"rule_id": r.rule_id, "title_vi": titles.get(r.rule_id, (r.rule_id,) * 2)[0],
         "title_en": titles.get(r.rule_id, (r.rule_id,) * 2)[1], "severity": r.severity,
         "count": int(r.n)} for r in rows]}
