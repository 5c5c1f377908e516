"""Thematic colourings of the layers: what a planner may colour a layer by in the map
(buildings by floors, parcels by land use or owner type, ...), each either categorical
(one colour per coded value) or graduated (classes of a number, `low <= v < high`).

A theme is data in the layered model, like a layer's default `Style`: the PNG tiles
draw with `Theme.style` and the SQL expression `Theme.category`, the map's legend lists
the same classes with their Vietnamese and English names. A request names a theme by
its id (the field it colours by); nothing else from the request reaches the style.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import sqlalchemy as sa

from gisdb.errors import InvalidParameter

from .layer import Layer, Style
from .value_labels import value_labels

# colour ramps (light to dark) and a qualitative palette for coded values
RAMP = ("#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026")
PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")


@dataclass(frozen=True)
class Theme:
    """One way to colour a layer: by `field`, categorical or graduated."""

    id: str                                     # the field it colours by
    title_vi: str
    title_en: str
    kind: str                                   # "categorical" | "graduated"
    classes: tuple[tuple[str, str, str, str], ...]   # (key, colour, vi, en)
    breaks: tuple[float, ...] = ()              # graduated: class i is breaks[i] <= v < breaks[i+1]

    def category(self, layer: Layer):
        """The SQL text naming a feature's class (the key of `classes`)."""
        column = layer.table.c[self.id]
        if self.kind == "categorical":
            return sa.cast(column, sa.Text)
        whens = [(column < sa.literal(high), sa.literal(key))
                 for (key, *_), high in zip(self.classes, self.breaks[1:])]
        last = self.classes[-1][0]
        return sa.case((column.is_(None), sa.null()), *whens, else_=sa.literal(last))

    def style(self, layer: Layer) -> Style:
        """The layer's style with this theme's colours (outline and width kept)."""
        return replace(layer.style, category_field=self.id, categories=self.classes)

    def as_json(self) -> dict:
        return {"id": self.id, "title_vi": self.title_vi, "title_en": self.title_en,
                "kind": self.kind, "classes": [list(c) for c in self.classes],
                "breaks": list(self.breaks)}


def graduated(field_name: str, vi: str, en: str, breaks: tuple[float, ...], unit: str = "") -> Theme:
    """Classes [b0, b1), [b1, b2), ..., [bn, ∞) with the ramp's colours."""
    classes = []
    for i, low in enumerate(breaks):
        high = breaks[i + 1] if i + 1 < len(breaks) else None
        span = f"{low:g}–{high - 1:g}" if high is not None and unit == "" else \
            (f"{low:g}–{high:g}" if high is not None else f"≥ {low:g}")
        classes.append((str(i), RAMP[i % len(RAMP)], span + unit, span + unit))
    return Theme(field_name, vi, en, "graduated", tuple(classes), tuple(breaks))


def coded(layer_id: str, field_name: str, vi: str, en: str) -> Theme:
    """One colour per coded value, named by `layers.value_labels`."""
    labels = value_labels()[layer_id][field_name]
    classes = tuple((value, PALETTE[i % len(PALETTE)], names[0], names[1])
                    for i, (value, names) in enumerate(labels.items()))
    return Theme(field_name, vi, en, "categorical", classes)


def default_theme(layer: Layer) -> Theme | None:
    """The layer's own categories (its registry style) as a theme, when it has some."""
    style = layer.style
    if not style.category_field:
        return None
    field = layer.field(style.category_field)
    return Theme(style.category_field, field.vi, field.en, "categorical", style.categories)


def _themes() -> dict[str, tuple[Theme, ...]]:
    return {
        "buildings": (graduated("floors", "Số tầng", "Floors", (0, 3, 6, 10, 20)),
                      graduated("height_m", "Chiều cao", "Height", (0, 10, 20, 40, 80), " m"),
                      coded("buildings", "status", "Tình trạng", "Status")),
        "parcels": (coded("parcels", "owner_type", "Loại chủ sử dụng", "Owner type"),
                    graduated("area_m2", "Diện tích", "Area", (0, 100, 200, 500, 1000), " m²")),
        "zoning": (graduated("max_floors", "Số tầng tối đa", "Max floors", (0, 3, 6, 10, 20)),),
        "roads": (graduated("lanes", "Số làn", "Lanes", (1, 2, 3, 4, 6)),),
        "projects": (coded("projects", "phase", "Giai đoạn", "Phase"),),
    }


def layer_themes(layer: Layer) -> tuple[Theme, ...]:
    """The themes a planner may choose for `layer`: its default categories first."""
    own = default_theme(layer)
    extra = _themes().get(layer.id, ())
    return ((own,) if own else ()) + extra


def get_theme(layer: Layer, theme_id: str | None) -> Theme | None:
    """The layer's theme named `theme_id` (None for none); unknown: InvalidParameter."""
    if theme_id is None or theme_id == "":
        return None
    for theme in layer_themes(layer):
        if theme.id == theme_id:
            return theme
    names = ", ".join(t.id for t in layer_themes(layer)) or "none"
    raise InvalidParameter(f"unknown theme {str(theme_id)[:40]!r} for layer {layer.id!r} "
                           f"(themes: {names})")
