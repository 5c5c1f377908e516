"""What a planning rule is: a stable id, bilingual words, the layers it reads and the
query that lists the features breaking it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa

SEVERITIES = ("high", "medium", "low")
RESULT_COLUMNS = ("feature_id", "measured", "limit_value", "excess", "unit", "geom", "ward_code")


@dataclass(frozen=True)
class Rule:
    """A rule of the catalogue. `select(ward)` lists the offending features of
    `target_layer` with the columns RESULT_COLUMNS (geom in EPSG:4326; ward_code is the
    feature's ward, an addition beside the shared contract's six columns)."""

    id: str
    title_vi: str
    title_en: str
    explanation_vi: str
    explanation_en: str
    layers: tuple[str, ...]
    target_layer: str
    severity: str
    legal_basis: str | None
    query: Callable[[str | None, object], sa.Select]
    unit: str = ""
    finding_vi: str = "{measured} {unit}, giới hạn {limit}"
    finding_en: str = "{measured} {unit}, limit {limit}"

    def select(self, ward: str | None = None, region=None) -> sa.Select:
        """The offending features (in the ward `ward` only, when given; only those whose
        box meets `region`, a geometry expression in EPSG:4326, when given: the region
        reaches each rule's innermost scan, so the rule reads only that area)."""
        return self.query(ward, region)
