"""A layer's spatial extent in degrees (EPSG:4326), computed in one place.

The caller chooses explicitly how:

- estimated: `ST_EstimatedExtent`. PostGIS 3 reads the bounding boxes at the root of the
  table's spatial index (the planner's statistics when there is no index), so it costs
  the same on a million rows as on ten. It covers the data but may be wider: the index
  keeps float4 boxes rounded outward, and rows deleted or moved still count until
  VACUUM removes them. None when there is no index and no statistics yet.
- exact: `ST_Extent` over the geometries (optionally only the rows matching `where`).
  Always the current rows' extent; a scan of their bounding boxes, so for offline work,
  small tables or a few rows.

Both answer None for a table with nothing to measure.
"""
from __future__ import annotations

from typing import Iterable, NamedTuple

import sqlalchemy as sa
from sqlalchemy import func

from .layer import Layer


class Extent(NamedTuple):
    """A bounding box in degrees: west, south, east, north (a tuple, so it serialises
    as the four numbers OGC API and TileJSON expect)."""

    west: float
    south: float
    east: float
    north: float

    @property
    def centre(self) -> tuple[float, float]:
        """(latitude, longitude) of the box's middle, as map libraries take a centre."""
        return (self.south + self.north) / 2, (self.west + self.east) / 2


def layer_extent(conn: sa.Connection, layer: Layer, *, estimated: bool,
                 where: sa.ColumnElement | None = None) -> Extent | None:
    """The extent of `layer`'s geometries, estimated or exact (see the module's note);
    `where` (exact only) limits it to some rows."""
    table = layer.table
    if estimated:
        if where is not None:
            raise ValueError("an estimated extent covers the whole table: no `where`")
        box = sa.select(func.ST_EstimatedExtent(table.schema, table.name, "geom").label("box"))
    else:
        box = sa.select(func.ST_Extent(table.c.geom).label("box"))
        if where is not None:
            box = box.where(where)
    b = box.subquery().c.box
    row = conn.execute(sa.select(func.ST_XMin(b), func.ST_YMin(b),
                                 func.ST_XMax(b), func.ST_YMax(b))).one()
    return None if row[0] is None else Extent(*(float(v) for v in row))


def layers_extent(conn: sa.Connection, layers: Iterable[Layer], *,
                  estimated: bool) -> Extent | None:
    """The union of the layers' extents (None when none of them has one)."""
    return union(layer_extent(conn, layer, estimated=estimated) for layer in layers)


def union(extents: Iterable[Extent | None]) -> Extent | None:
    """The smallest box holding every given box (None values are skipped)."""
    boxes = [box for box in extents if box is not None]
    if not boxes:
        return None
    return Extent(min(b.west for b in boxes), min(b.south for b in boxes),
                  max(b.east for b in boxes), max(b.north for b in boxes))
