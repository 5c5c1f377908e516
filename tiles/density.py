"""Where a city's tiles are heaviest: the densest tile of a zoom, by the number of
features (of the layers shown at that zoom) whose bounding-box centre falls in it.

What the tile-size checks (tests and `bench/tile_size_bench.py`) render, so that "no tile
exceeds the bound" is checked where a tile is fullest, not on a random sample."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import func

from .grid import ORIGIN, Tile
from .mvt import visible_layers


def _tile_index(expr, size: float):
    return sa.cast(func.floor(expr / size), sa.Integer)


def densest_tile(conn: sa.Connection, layers, z: int) -> tuple[Tile, int]:
    """(the WebMercatorQuad tile at zoom z holding the most feature centres of `layers`
    shown at z, that count); (None, 0) when no layer has a feature there."""
    found = densest_tiles(conn, layers, z, 1)
    return found[0] if found else (None, 0)


def densest_tiles(conn: sa.Connection, layers, z: int, n: int) -> list[tuple[Tile, int]]:
    """The `n` tiles at zoom z holding the most feature centres of `layers` shown at z,
    densest first, each with that count (fewer when fewer tiles hold any)."""
    size = 2 * ORIGIN / 2 ** z
    parts = []
    for layer in visible_layers(layers, z):
        geom = layer.table.c.geom_3857
        cx = (func.ST_XMin(geom) + func.ST_XMax(geom)) / 2 + ORIGIN
        cy = ORIGIN - (func.ST_YMin(geom) + func.ST_YMax(geom)) / 2
        parts.append(sa.select(_tile_index(cx, size).label("x"), _tile_index(cy, size).label("y")))
    if not parts:
        return []
    centres = sa.union_all(*parts).subquery("c")
    rows = conn.execute(sa.select(centres.c.x, centres.c.y, func.count().label("n"))
                        .group_by(centres.c.x, centres.c.y)
                        .order_by(sa.desc("n"), centres.c.x, centres.c.y).limit(n))
    return [(Tile(z, row.x, row.y), row.n) for row in rows]
