"""Which blocks of the street grid the sample city is built on.

A cell may hold a block when it lies wholly on Da Nang's land (never in the sea, a river,
a lake or a pond) and wholly inside one ward of each period, so every parcel, building
and street of it is on land and belongs to exactly one old and one new ward. Of those,
the city takes `CORE_SHARE` of its cells nearest the centre (Hải Châu): a dense core
that grows outwards with the scale; the rest is shared between the new wards (in
proportion to the square root of their free land, at least a few cells each), each ward
building outwards from its free cell nearest the centre, so every ward has some
features and the central wards are the densest.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from .extent import to_local
from .land import RealCity

CORE_SHARE = 0.8
MIN_WARD_CELLS = 6


@dataclass(frozen=True)
class Cells:
    """Chosen cells: grid indices, distance from the centre (m), ward indexes (into
    RealCity.old_wards / new_wards), and the distance of the core's farthest cell."""

    i: np.ndarray
    j: np.ndarray
    dist: np.ndarray
    old_ward: np.ndarray
    new_ward: np.ndarray
    core_reach: float


def grid_range(grid, land: shapely.Geometry, spacing: tuple[float, float],
               rotate) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j) of the grid cells that may lie within the land's bounds."""
    west, south, east, north = land.bounds
    x, y = to_local(np.array([west, east, east, west]), np.array([south, south, north, north]))
    u, v = rotate(x, y)
    i0, i1 = grid.i_idx[0], grid.i_idx[-1] - 1
    j0, j1 = grid.j_idx[0], grid.j_idx[-1] - 1
    i = np.arange(max(i0, int(u.min() // spacing[0]) - 1), min(i1, int(u.max() // spacing[0]) + 1) + 1)
    j = np.arange(max(j0, int(v.min() // spacing[1]) - 1), min(j1, int(v.max() // spacing[1]) + 1) + 1)
    ii, jj = np.meshgrid(i, j, indexing="ij")
    return ii.ravel(), jj.ravel()


def eligible(grid, city: RealCity, ii: np.ndarray, jj: np.ndarray):
    """(i, j, old ward, new ward) of the cells wholly on land and inside one ward of each
    period; a centre test on the land first keeps the polygon tests few."""
    uc = (grid.U(ii) + grid.U(ii + 1)) / 2
    vc = (grid.V(jj) + grid.V(jj + 1)) / 2
    lon, lat = grid.lonlat(uc, vc)
    near = shapely.contains_xy(city.land, lon, lat)
    ii, jj = ii[near], jj[near]
    quads = grid.cell_quads(ii, jj)
    tree = shapely.STRtree(quads)
    ok = np.zeros(quads.size, bool)
    ok[tree.query(city.land, predicate="contains")] = True
    old, new = np.full(quads.size, -1), np.full(quads.size, -1)
    for wards, out in ((city.old_wards, old), (city.new_wards, new)):
        for w, ward in enumerate(wards):
            out[tree.query(ward.geom, predicate="contains")] = w
    keep = ok & (old >= 0) & (new >= 0)
    return ii[keep], jj[keep], old[keep], new[keep]


def choose_cells(grid, city: RealCity, target: int, spacing: tuple[float, float],
                 rotate) -> Cells:
    """The `target` cells of the city (fewer when the land is full: the caller refuses
    such a scale)."""
    ii, jj = grid_range(grid, city.land, spacing, rotate)
    ii, jj, old, new = eligible(grid, city, ii, jj)
    uc = (grid.U(ii) + grid.U(ii + 1)) / 2
    vc = (grid.V(jj) + grid.V(jj + 1)) / 2
    dist = np.hypot(uc, vc)
    order = np.lexsort((jj, ii, dist))
    target = min(target, order.size)
    n_core = int(round(target * CORE_SHARE))
    taken = np.zeros(order.size, bool)
    taken[order[:n_core]] = True
    core_reach = float(dist[order[n_core - 1]]) if n_core else 1.0
    _share_between_wards(order, new, taken, target - n_core)
    rest = order[~taken[order]][:target - int(taken.sum())]
    taken[rest] = True
    pick = np.flatnonzero(taken)
    return Cells(ii[pick], jj[pick], dist[pick], old[pick], new[pick], max(core_reach, 1.0))


def _share_between_wards(order: np.ndarray, ward: np.ndarray, taken: np.ndarray,
                         cells: int) -> None:
    """Mark `cells` more cells taken: per ward a quota (square root of its free cells,
    at least MIN_WARD_CELLS), its free cells nearest the centre first."""
    free = order[~taken[order]]
    if cells <= 0 or free.size == 0:
        return
    counts = np.bincount(ward[free], minlength=int(ward.max()) + 1)
    weight = np.sqrt(counts)
    quota = np.floor(cells * weight / max(weight.sum(), 1.0)).astype(int)
    quota = np.minimum(np.maximum(quota, np.minimum(MIN_WARD_CELLS, counts)), counts)
    while quota.sum() > cells:                       # tiny cities: trim the largest quotas
        quota[np.argmax(quota)] -= 1
    rank = np.zeros(free.size, int)
    for w in np.flatnonzero(quota):
        mine = np.flatnonzero(ward[free] == w)       # already in distance order
        rank[mine] = np.arange(mine.size)
    taken[free[rank < quota[ward[free]]]] = True
