"""How a layer is drawn at a zoom: the generalisation policy of the vector tiles.

All thresholds are in tile pixels (a 256-pixel rendering), turned into the tile's CRS
units (EPSG:3857 metres, or degrees for WorldCRS84Quad) for the tile's zoom, so the same
policy holds at every zoom. Zooms are WebMercatorQuad's (`Tile.scale_zoom`: a
WorldCRS84Quad tile at z has the scale of z + 1):

- **detail** (z >= `generalise_below`, default 15): geometries as stored; ST_AsMVTGeom
  only snaps them to the 4096-unit tile grid.
- **generalised** lines and polygons (lower zooms): features whose bounding box is smaller
  than `MIN_SIZE_PX` pixels are dropped (they would not be visible), the rest simplified
  with a tolerance of `SIMPLIFY_PX` pixel (ST_Simplify, topology kept for polygons).
  At z <= `CAP_MAX_ZOOM` a tile also keeps at most `FEATURE_BUDGET[z]` line and polygon
  features, shared evenly by its line and polygon layers, largest first: this bounds the
  tile size whatever the data volume (the importance order of cartographic
  generalisation: the biggest features are the ones a small scale shows).
- **overview** (the same, read from storage): at the zooms of `layers.overview_table.BANDS`
  a line or polygon layer shown there reads its features already dropped, simplified and
  snapped for the zoom (`tiles.overviews`), still capped to the budget, largest first;
  the live rows are simplified instead when its overviews are older than its data, and
  for filtered and time-travel tiles (see tiles.mvt).
- **clustered** points (z < `cluster_below`, default 15): points are grouped on a grid of
  `CLUSTER_PX`-pixel cells aligned with the tile grid (ST_SnapToGrid) and each group is
  one point at its centroid with `point_count` (and `cluster=true` when more than one);
  a group of one keeps the feature's attributes and id.

Generalised features of street-scale layers (from `STREET_ZOOM`: parcels, buildings)
carry their id and the tile fields a map styles by (categories, classes, flags,
counts); the fields that name or measure each feature (natural key, label, search
fields, decimal measures: a distinct value per feature, most of a dense tile's bytes)
arrive with the detail zooms, where a feature is big enough to be read (`fields_at`).

A layer may override `generalise_below`, `cluster_below` in `Layer.extra`.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from layers.overview_table import BANDS, has_overviews

from .grid import WEB_MERCATOR_QUAD, Tile

EXTENT = 4096            # MVT tile extent (coordinate units per tile side)
BUFFER = 64              # extent units drawn beyond the tile edge (no seams at edges)
MARGIN = BUFFER / EXTENT  # the same buffer as a fraction of the tile, for ST_TileEnvelope
DEFAULT_DETAIL_ZOOM = 15
SIMPLIFY_PX = 0.25
MIN_SIZE_PX = 1.0
CLUSTER_PX = 8
CAP_MAX_ZOOM = 12
STREET_ZOOM = 14         # layers starting here hold features a few metres across
FEATURE_BUDGET = {z: (8000 if z <= 10 else 16000) for z in range(CAP_MAX_ZOOM + 1)}

DETAIL, GENERALISED, CAPPED, CLUSTERED = "detail", "generalised", "capped", "clustered"
OVERVIEW = "overview"


@dataclass(frozen=True)
class Plan:
    """What the tile SQL of one layer at one zoom does, and its bound values.

    `mode` selects the statement shape (so the statement text, hence its prepared plan,
    is shared by every tile of the same mode); the numbers are bind parameters."""

    mode: str
    tolerance: float = 0.0       # ST_Simplify tolerance, CRS units
    min_size: float = 0.0        # smallest bounding-box side kept, CRS units
    cell: float = 0.0            # cluster grid cell, CRS units
    cap: int = 0                 # most features kept (CAPPED and OVERVIEW)

    def params(self) -> dict:
        return {"tolerance": self.tolerance, "min_size": self.min_size,
                "cell": self.cell, "cap": self.cap}


def is_point_layer(layer) -> bool:
    return layer.geometry_type.lower() in ("point", "multipoint")


def plan_for(layer, tile: Tile, shared_by: int = 1, budget: int | None = None,
             overviews: bool = True) -> Plan:
    """The generalisation plan of `layer` at `tile`'s zoom; `shared_by` is the number of
    line and polygon layers sharing the tile's feature budget. With `budget` (a tile that
    came out over `tiles.bounded`'s size bound) every layer is capped or clustered,
    whatever the zoom. `overviews=False`: the live rows, never the stored overviews."""
    pixel, z = tile.pixel, tile.scale_zoom
    stored = (overviews and z in BANDS and tile.tms is WEB_MERCATOR_QUAD and has_overviews(layer)
              and in_zoom_range(layer, z))
    if budget is not None:
        if is_point_layer(layer):
            return Plan(CLUSTERED, cell=pixel * CLUSTER_PX)
        return Plan(OVERVIEW if stored else CAPPED, tolerance=pixel * SIMPLIFY_PX,
                    min_size=pixel * MIN_SIZE_PX, cap=max(1, budget // max(1, shared_by)))
    if is_point_layer(layer):
        if z < int(layer.extra.get("cluster_below", DEFAULT_DETAIL_ZOOM)):
            return Plan(CLUSTERED, cell=pixel * CLUSTER_PX)
        return Plan(DETAIL)
    if z >= int(layer.extra.get("generalise_below", DEFAULT_DETAIL_ZOOM)):
        return Plan(DETAIL)
    if z <= CAP_MAX_ZOOM:
        return Plan(OVERVIEW if stored else CAPPED, tolerance=pixel * SIMPLIFY_PX, min_size=pixel * MIN_SIZE_PX,
                    cap=FEATURE_BUDGET[z] // max(1, shared_by))
    return Plan(GENERALISED, tolerance=pixel * SIMPLIFY_PX, min_size=pixel * MIN_SIZE_PX)


def fields_at(layer, mode: str) -> tuple[str, ...]:
    """The tile fields `layer` carries in tiles of `mode`: all of them at detail (and in
    clusters of one), and in layers shown before street scale (wards, zones, roads:
    their names are what a small-scale map labels); generalised, a street-scale layer's
    (parcels, buildings) only those a map styles by, not the ones that name or measure
    each feature (see the module's note)."""
    if mode in (DETAIL, CLUSTERED) or layer.min_zoom < STREET_ZOOM:
        return layer.tile_fields
    return tuple(name for name in layer.tile_fields
                 if name == layer.style.category_field or not _distinct_per_feature(layer, name))


def _distinct_per_feature(layer, name: str) -> bool:
    """A field whose values are (nearly) one per feature: its natural key, label and
    search fields, and decimal measures (areas, heights)."""
    if name in layer.natural_key or name == layer.label_field or name in layer.search_fields:
        return True
    kind = layer.table.c[name].type
    return isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float)


def in_zoom_range(layer, z: int) -> bool:
    """Whether the registry shows `layer` at zoom z (outside: the layer is left out)."""
    return layer.min_zoom <= z <= layer.max_zoom
