"""The layer registry: every layer of the system, in map order. Adding a layer is one
entry in its group's module plus a migration."""
from __future__ import annotations

import sqlalchemy as sa

from gisdb.errors import NotFound

from . import construction, land, overview_table, traffic
from .layer import GROUPS, Layer
from .planning import violations_table
from .visibility import hidden_from_caller, visible_ids

ALL_LAYERS: tuple[Layer, ...] = (land.LAYERS + construction.LAYERS + traffic.LAYERS
                                  + violations_table.LAYERS)
_BY_ID = {layer.id: layer for layer in ALL_LAYERS}
SCHEMAS = ("land", "construction", "traffic")
DERIVED_SCHEMAS = (violations_table.SCHEMA, overview_table.SCHEMA)   # their own migrations (0010, 0012)


def get_layer(layer_id: str) -> Layer:
    """The layer with this id; NotFound (a 404 on the web) otherwise, and for a layer
    hidden from the current caller (layers.visibility)."""
    layer = _BY_ID.get(layer_id)
    if layer is None or hidden_from_caller(layer_id):
        raise NotFound(f"no layer named {layer_id!r}") from None
    return layer


def visible_layers() -> tuple[Layer, ...]:
    """Every layer the current caller may see, in map order (all, outside a request)."""
    shown = set(visible_ids(_BY_ID))
    return ALL_LAYERS if len(shown) == len(ALL_LAYERS) else tuple(
        layer for layer in ALL_LAYERS if layer.id in shown)


def source_layers() -> tuple[Layer, ...]:
    """The visible layers that hold data of their own (not derived): what queries, search
    and time travel cover when no layer is named."""
    return tuple(layer for layer in visible_layers() if not is_derived(layer))


def layer_groups() -> dict[str, str]:
    """{layer id: group} of every layer (for grants on groups)."""
    return {layer.id: layer.group for layer in ALL_LAYERS}


def layer_ids() -> list[str]:
    return list(_BY_ID)


def layers_by_group() -> dict[str, list[Layer]]:
    """The layers the current caller may see, by group."""
    out: dict[str, list[Layer]] = {g: [] for g in GROUPS}
    for layer in visible_layers():
        out[layer.group].append(layer)
    return out


def tracked_tables() -> list[tuple[str, str]]:
    """(schema, table) of every table whose data version is tracked."""
    from gisdb.model import Base
    return [(t.schema, t.name) for t in Base.metadata.sorted_tables if t.schema in SCHEMAS]


def history_tracked() -> list[tuple[str, sa.Table]]:
    """(layer id, table) of every table whose history is kept: the layers (but derived
    ones, such as the violations), and the traffic counts under the id `traffic_counts`."""
    from .traffic import TrafficCount
    return ([(layer.id, layer.table) for layer in ALL_LAYERS if not is_derived(layer)]
            + [("traffic_counts", TrafficCount.__table__)])


def is_derived(layer: Layer) -> bool:
    """A layer computed from others (the violations): read-only, no history, no feed."""
    return bool(layer.extra.get("derived"))


def history_target(layer_id: str) -> sa.Table:
    """The tracked table of a history layer id (a layer's, or `traffic_counts`)."""
    for tracked_id, table in history_tracked():
        if tracked_id == layer_id:
            return table
    raise NotFound(f"no layer named {layer_id!r}")
