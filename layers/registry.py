"""The layer registry: every layer of the system, in map order. Adding a layer is one
entry in its group's module plus a migration."""
from __future__ import annotations

import sqlalchemy as sa

from gisdb.errors import NotFound

from . import construction, land, traffic
from .layer import GROUPS, Layer

ALL_LAYERS: tuple[Layer, ...] = land.LAYERS + construction.LAYERS + traffic.LAYERS
_BY_ID = {layer.id: layer for layer in ALL_LAYERS}
SCHEMAS = ("land", "construction", "traffic")


def get_layer(layer_id: str) -> Layer:
    """The layer with this id; NotFound (a 404 on the web) otherwise."""
    try:
        return _BY_ID[layer_id]
    except KeyError:
        raise NotFound(f"no layer named {layer_id!r}") from None


def layer_ids() -> list[str]:
    return list(_BY_ID)


def layers_by_group() -> dict[str, list[Layer]]:
    out: dict[str, list[Layer]] = {g: [] for g in GROUPS}
    for layer in ALL_LAYERS:
        out[layer.group].append(layer)
    return out


def tracked_tables() -> list[tuple[str, str]]:
    """(schema, table) of every table whose data version is tracked."""
    from gisdb.model import Base
    return [(t.schema, t.name) for t in Base.metadata.sorted_tables if t.schema in SCHEMAS]


def history_tracked() -> list[tuple[str, sa.Table]]:
    """(layer id, table) of every table whose history is kept: the layers, and the
    traffic counts under the id `traffic_counts`."""
    from .traffic import TrafficCount
    return [(layer.id, layer.table) for layer in ALL_LAYERS] + [("traffic_counts", TrafficCount.__table__)]


def history_target(layer_id: str) -> sa.Table:
    """The tracked table of a history layer id (a layer's, or `traffic_counts`)."""
    for tracked_id, table in history_tracked():
        if tracked_id == layer_id:
            return table
    raise NotFound(f"no layer named {layer_id!r}")
