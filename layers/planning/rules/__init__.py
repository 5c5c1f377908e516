"""The catalogue of planning rules: `RULES` maps each stable rule id to its `Rule`."""
from __future__ import annotations

from . import permits, placement, zoning
from .rule import RESULT_COLUMNS, SEVERITIES, Rule

RULES: dict[str, Rule] = {rule.id: rule for rule in zoning.RULES + permits.RULES + placement.RULES}

__all__ = ["RESULT_COLUMNS", "RULES", "SEVERITIES", "Rule"]
