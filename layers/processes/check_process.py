"""`check`: the planning rules (layers.planning.rules) as a process. For the chosen rules
(all by default) and, optionally, one ward: per rule its words, severity, legal basis and
count, and the offending features as GeoJSON. A whole-city check is large: it runs as a
job, reporting its progress rule by rule (and stopping when dismissed)."""
from __future__ import annotations

import json

import sqlalchemy as sa

from gisdb.errors import InvalidParameter
from layers.planning.rules import RULES

from .process import ConnectionFactory, Process, Progress, json_result, no_progress

MAX_WARD_CHARS = 20


def _features(conn: sa.Connection, rule, ward: str | None) -> list[dict]:
    """The rule's offending features (in `ward` when given) as GeoJSON Features, their
    id `layer.feature_id`."""
    found = rule.select(ward).subquery()
    columns = [c for c in found.c if c.name != "geom"]
    rows = conn.execute(sa.select(*columns, sa.func.ST_AsGeoJSON(found.c.geom, 7).label("g"))).all()
    return [{"type": "Feature", "id": f"{rule.target_layer}.{row.feature_id}",
             "geometry": json.loads(row.g) if row.g else None,
             "properties": {"rule_id": rule.id, "layer": rule.target_layer, "severity": rule.severity,
                            **{c.name: row._mapping[c.name] for c in columns}}}
            for row in rows]


class CheckProcess(Process):
    """The planning rules over the city or one ward."""

    id = "check"
    title = "Check planning rules"
    title_vi = "Kiểm tra quy định quy hoạch"
    description = ("Buildings, parcels, permits and projects that break the planning rules "
                   "(zoning floors and height, coverage and floor-area ratio, permits, parcel "
                   "and road boundaries, protected zones): per rule the count and the features. "
                   "Without a ward the whole city is checked, as a job.")
    inputs = {
        "rules": {"title": "Rule ids (default: every rule)", "minOccurs": 0, "maxOccurs": 1,
                  "schema": {"type": "array", "items": {"type": "string", "maxLength": 64},
                             "maxItems": 100, "uniqueItems": True}},
        "ward": {"title": "Ward code (default: the whole city)", "minOccurs": 0, "maxOccurs": 1,
                 "schema": {"type": "string", "maxLength": MAX_WARD_CHARS}},
        "include_geometry": {"title": "Give the features' geometries (default true)",
                             "minOccurs": 0, "maxOccurs": 1, "schema": {"type": "boolean"}},
    }
    outputs = json_result("Counts per rule and the offending features")

    def prepare(self, inputs: dict) -> dict:
        """Known rule ids (all when absent) and a plain ward code."""
        ids = inputs.get("rules") or list(RULES)
        unknown = [rule_id for rule_id in ids if rule_id not in RULES]
        if unknown:
            raise InvalidParameter("unknown rule(s): " + ", ".join(map(str, unknown))[:200]
                                   + "; see the process description")
        ward = inputs.get("ward")
        if ward is not None and not (ward.isascii() and ward.isalnum()):
            raise InvalidParameter("ward must be a ward code of letters and digits")
        return {"rules": list(ids), "ward": ward,
                "include_geometry": bool(inputs.get("include_geometry", True))}

    def layers_read(self, inputs: dict) -> tuple[str, ...]:
        """Every layer the chosen rules read."""
        return tuple(sorted({layer for rule_id in inputs["rules"] for layer in RULES[rule_id].layers}))

    def is_large(self, inputs: dict) -> bool:
        """A check of the whole city runs as a job."""
        return inputs["ward"] is None

    def run(self, conn_factory: ConnectionFactory, inputs: dict,
            progress: Progress = no_progress) -> dict:
        """Each rule in turn: its summary and its features."""
        summaries, features = [], []
        with conn_factory() as conn:
            for done, rule_id in enumerate(inputs["rules"]):
                rule = RULES[rule_id]
                found = _features(conn, rule, inputs["ward"])
                summaries.append({"rule_id": rule.id, "title_vi": rule.title_vi,
                                  "title_en": rule.title_en, "severity": rule.severity,
                                  "legal_basis": rule.legal_basis, "target_layer": rule.target_layer,
                                  "count": len(found)})
                if not inputs["include_geometry"]:
                    for feature in found:
                        feature["geometry"] = None
                features.extend(found)
                progress(int(100 * (done + 1) / len(inputs["rules"])) - 1, f"checked {rule.id}")
        return {"result": {"ward": inputs["ward"], "rules": summaries,
                           "features": {"type": "FeatureCollection", "features": features}}}
