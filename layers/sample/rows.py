"""What the generators hand to the loader: batches of rows for one table, with their
geometries already encoded as hex EWKB (the form `gisdb.bulk.copy_rows` sends)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import shapely

from gisdb.model import STORAGE_SRID


@dataclass(frozen=True)
class Batch:
    """Rows for `table` (a layer id, or "traffic_counts"), columns in `columns` order."""

    table: str
    columns: tuple[str, ...]
    rows: Sequence[tuple]


def ewkb(geoms: np.ndarray) -> list[str]:
    """Geometries -> hex EWKB strings with SRID 4326, in one vectorised call."""
    return shapely.to_wkb(shapely.set_srid(np.asarray(geoms), STORAGE_SRID),
                          hex=True, include_srid=True).tolist()


def as_multipolygon(geom) -> shapely.MultiPolygon:
    """A (Multi)Polygon union result as a MultiPolygon (the tables' typmod)."""
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, shapely.Polygon)]
    return shapely.MultiPolygon(parts)
