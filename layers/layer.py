"""What the system knows about a layer: the one description that the API, the tiles,
the imports and the map all read."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

GROUPS = {
    "land": ("Đất đai", "Land"),
    "construction": ("Xây dựng", "Construction"),
    "traffic": ("Giao thông", "Traffic"),
    "planning": ("Kiểm tra quy hoạch", "Planning checks"),
}


@dataclass(frozen=True)
class Style:
    """Default cartography of a layer (map legend, PNG tiles)."""

    stroke: str = "#333333"          # line / outline colour
    fill: str | None = None          # polygon fill or point fill
    width: float = 1.0               # stroke width in px at 1x
    fill_opacity: float = 0.5
    radius: float = 4.0              # point symbol radius in px
    categories: tuple[tuple[str, str, str, str], ...] = ()  # (value, colour, vi, en)
    category_field: str | None = None
    dash: str | None = None
    # (category value, first zoom): categories drawn only from that zoom in PNG tiles
    # (at city zoom, a million features' minor roads would hide the city under a carpet)
    category_min_zoom: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Field:
    """An attribute with its Vietnamese and English labels."""

    name: str
    vi: str
    en: str
    queryable: bool = True           # allowed in filters, sorting, equality params
    on_tiles: bool = False           # carried in vector tiles (kept small)


@dataclass(frozen=True)
class Layer:
    id: str                          # stable snake_case id, e.g. "parcels"
    group: str                       # land | construction | traffic
    title_vi: str
    title_en: str
    model: type                      # SQLAlchemy mapped class
    geometry_type: str               # MultiPolygon | MultiLineString | Point
    natural_key: tuple[str, ...]
    fields: tuple[Field, ...]
    style: Style
    min_zoom: int = 10
    max_zoom: int = 22
    label_field: str | None = None   # what the map and the search show
    search_fields: tuple[str, ...] = ()
    time_field: str | None = None    # for `datetime` queries
    time_end_field: str | None = None  # end of a validity interval (exclusive; NULL: open)
    description_en: str = ""
    id_column: str = "id"
    extra: dict = field(default_factory=dict)

    @property
    def table(self) -> sa.Table:
        return self.model.__table__

    @property
    def schema(self) -> str:
        return self.table.schema

    @property
    def table_name(self) -> str:
        """Qualified name `schema.table`, as used for data versions."""
        return f"{self.table.schema}.{self.table.name}"

    @property
    def queryables(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.queryable)

    @property
    def tile_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.on_tiles)

    def column(self, name: str) -> sa.Column:
        return self.table.c[name]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)
