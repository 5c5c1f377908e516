"""What the planners' map needs for its planning tools: their scripts and style sheet,
and the `planning` part of the page's config (the themes each layer may be coloured by,
the attributes each layer may be filtered on, with their kind, and the endpoints).

The tools live in `static/map/`: `print.js` (the print layout), `layer_style.js`
(thematic colouring, attribute filters and transparency per layer, applied to the PNG
tiles through `?theme=` and `?filter=`), `drawcount.js` (breakdowns, ward parts and
exports of the draw-to-count panel), `violations.js` (the violations overlay and the
compliance line of the identify popup) and `corridor.js` (the corridor tool).
"""
from __future__ import annotations

import sqlalchemy as sa

from layers.layer import Layer
from layers.planning.rules import RULES
from layers.themes import layer_themes

PLANNING_SCRIPTS = ("planning_strings.js", "planning_dom.js", "print.js", "layer_style.js",
                    "drawcount.js", "violations.js", "corridor.js")
PLANNING_STYLES = ("print.css", "planning.css")


def field_kind(column: sa.Column) -> str:
    """'number', 'date', 'boolean' or 'text': the control a filter on it uses."""
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return "boolean"
    if isinstance(kind, (sa.Integer, sa.Numeric, sa.Float)):
        return "number"
    if isinstance(kind, (sa.Date, sa.DateTime)):
        return "date"
    return "text"


def filter_fields(layer: Layer) -> list[dict]:
    """The layer's queryables as the filter controls need them."""
    return [{"name": f.name, "vi": f.vi, "en": f.en, "kind": field_kind(layer.column(f.name))}
            for f in layer.queryables]


def rules_config() -> list[dict]:
    """The rule catalogue's words and severities (the violations panel's legend)."""
    return [{"id": r.id, "title_vi": r.title_vi, "title_en": r.title_en, "severity": r.severity,
             "explanation_vi": r.explanation_vi, "explanation_en": r.explanation_en,
             "target_layer": r.target_layer} for r in RULES.values()]


def planning_config(layers: tuple[Layer, ...]) -> dict:
    """The `planning` part of the page's config."""
    return {
        "rules": rules_config(),
        "themes": {layer.id: [t.as_json() for t in layer_themes(layer)] for layer in layers},
        "filters": {layer.id: filter_fields(layer) for layer in layers},
        "endpoints": planning_endpoints(),
    }


def planning_endpoints() -> dict:
    """The endpoints the planning tools call."""
    return {"within": "/query/within", "compliance": "/collections/{layer}/items/{id}/compliance",
            "impact": "/query/impact"}
