"""The street grid of the sample city and the blocks between its streets.

Streets are straight lines of a slightly rotated grid whose lines are individually
jittered, in a local metric frame centred on Hải Châu. Every 8th north-south line and
every 12th east-west line is an arterial, then primary, secondary and local streets; the
lines are named in named stretches (a long street changes name, as real ones do), the
most central stretches getting the best-known Da Nang names. A cell of the grid is a
block plus half of the streets around it; which cells hold the city is `cells`' choice
(on Da Nang's real land, densest around the centre, some in every ward).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely

from gisdb.errors import InvalidParameter

from . import names
from .cells import choose_cells
from .extent import M_PER_DEG_X, M_PER_DEG_Y, to_lonlat
from .land import real_city

PU, PV = 140.0, 70.0            # street spacing (m) across and along the blocks
ANGLE = math.radians(7.0)       # grid rotation, counter-clockwise
NU, NV = 360, 720               # line indices run -NU..NU and -NV..NV (beyond the city)
CELLS_PER_SCALE = 460            # ~29,000 features per unit of scale (villages are sparse)
MIN_CELLS = 12
# Beyond DENSE_FROM the land would run out (about 77,000 cells lie wholly on land and in
# one ward of each period, scale ~168 at the sparse density): the city grows denser
# instead of wider. Of each further unit of scale, 1/CELL_GAIN comes as new cells and the
# rest as dense blocks (four rows of narrower parcels along two kiệt instead of two
# rows), each worth about DENSE_WORTH ordinary blocks; ordinary blocks densify from the
# centre outwards and the garden edge thins out, fully at DENSE_FULL.
DENSE_FROM, DENSE_FULL = 60, 350
CELL_GAIN = 3.3
DENSE_WORTH = 3.9
DENSE_FRONTAGE = 0.65           # parcel frontage in dense blocks, against ordinary ones
EDGE_FROM = 0.86                # rnorm beyond which blocks are gardens and village houses
EDGE_DENSE = 0.97               # ... at DENSE_FULL and beyond
CLASSES = ("arterial", "primary", "secondary", "local", "alley")
WIDTH_M = np.array([32.0, 20.0, 13.0, 8.0, 3.0])
LANES = np.array([6, 4, 2, 2, 1])
SPEED = np.array([60, 50, 40, 30, 20])
STRETCH_NS = np.array([24, 16, 12, 10])    # rows per named stretch of a north-south street
STRETCH_EW = np.array([12, 8, 6, 5])      # columns per named stretch of an east-west street
ALLEY = 4
ALLEY_HALF_M = WIDTH_M[ALLEY] / 2     # a kiệt's half width: the gap it leaves in a block


def _classes(idx: np.ndarray, every: tuple[int, int, int]) -> np.ndarray:
    cls = np.full(idx.shape, 3, np.int8)
    for c, n in zip((2, 1, 0), every[::-1]):
        cls[idx % n == 0] = c
    return cls


class Grid:
    """Positions and classes of the street lines (independent of the scale)."""

    def __init__(self, seed: int):
        rng = np.random.default_rng([seed, 11])
        self.i_idx = np.arange(-NU, NU + 2)
        self.j_idx = np.arange(-NV, NV + 2)
        self.u = self.i_idx * PU + rng.uniform(-6, 6, self.i_idx.size)
        self.v = self.j_idx * PV + rng.uniform(-5, 5, self.j_idx.size)
        self.u_cls = _classes(self.i_idx, (8, 4, 2))
        self.v_cls = _classes(self.j_idx, (12, 6, 3))
        self.oneway_u = (rng.random(self.i_idx.size) < 0.12) & (self.u_cls >= 2)
        self.oneway_v = (rng.random(self.j_idx.size) < 0.12) & (self.v_cls >= 2)

    def U(self, i):
        return self.u[np.asarray(i) + NU]

    def V(self, j):
        return self.v[np.asarray(j) + NV]

    def ucls(self, i):
        return self.u_cls[np.asarray(i) + NU]

    def vcls(self, j):
        return self.v_cls[np.asarray(j) + NV]

    @staticmethod
    def lonlat(u, v):
        """Grid coordinates (m) -> lon/lat arrays."""
        c, s = math.cos(ANGLE), math.sin(ANGLE)
        return to_lonlat(u * c - v * s, u * s + v * c)

    def block(self, i, j):
        """(u0, u1, v0, v1) of the blocks of cells (i, j): the cell less half of each street."""
        w = WIDTH_M
        return (self.U(i) + w[self.ucls(i)] / 2, self.U(i + 1) - w[self.ucls(i + 1)] / 2,
                self.V(j) + w[self.vcls(j)] / 2, self.V(j + 1) - w[self.vcls(j + 1)] / 2)

    def quads(self, u0, u1, v0, v1) -> np.ndarray:
        """Polygons (lon/lat) of grid-aligned rectangles, vectorised."""
        us = np.stack([u0, u1, u1, u0, u0], axis=1)
        vs = np.stack([v0, v0, v1, v1, v0], axis=1)
        lon, lat = self.lonlat(us, vs)
        return shapely.polygons(np.stack([lon, lat], axis=2))

    def cell_quads(self, i, j) -> np.ndarray:
        return self.quads(self.U(i), self.U(i + 1), self.V(j), self.V(j + 1))


@dataclass
class Plan:
    """The cells of one city: the shared frame every layer is generated from."""

    grid: Grid
    seed: int
    ci: np.ndarray                 # cell column (line index of its west street)
    cj: np.ndarray                 # cell row (line index of its south street)
    dist: np.ndarray               # distance of the cell centre from the city centre (m)
    radius: float                  # distance of the core's farthest cell (beyond: villages)
    attrs: dict = field(default_factory=dict)   # per-cell arrays filled by the generators
    names: dict = field(default_factory=dict)   # (orient, line, stretch) -> street name

    @property
    def size(self) -> int:
        return self.ci.size

    def keys(self, i, j):
        return (np.asarray(i, np.int64) + NU) * (2 * NV + 4) + (np.asarray(j, np.int64) + NV)

    def has_cell(self, i, j) -> np.ndarray:
        own = np.sort(self.keys(self.ci, self.cj))
        k = self.keys(i, j)
        pos = np.clip(np.searchsorted(own, k), 0, own.size - 1)
        return own[pos] == k


def city_size(scale: float) -> tuple[int, int]:
    """(cells, dense cells) of a city of `scale`: CELLS_PER_SCALE ordinary blocks per unit
    up to DENSE_FROM, then fewer new cells and more dense blocks (see DENSE_FROM)."""
    target = max(MIN_CELLS, int(round(CELLS_PER_SCALE * scale)))
    sparse = int(round(CELLS_PER_SCALE * DENSE_FROM))
    if target <= sparse:
        return target, 0
    cells = sparse + int(round((target - sparse) / CELL_GAIN))
    return cells, int(round((target - cells) / (DENSE_WORTH - 1)))


def scale_for_cells(cells: int) -> float:
    """The largest scale whose city has at most `cells` cells (inverse of city_size)."""
    sparse = int(round(CELLS_PER_SCALE * DENSE_FROM))
    blocks = cells if cells <= sparse else sparse + (cells - sparse) * CELL_GAIN
    return blocks / CELLS_PER_SCALE


def plan_city(scale: float, seed: int) -> Plan:
    """Choose the cells of a city of `scale` (about CELLS_PER_SCALE blocks per unit, some
    of them dense beyond DENSE_FROM) on Da Nang's real land (see `cells`)."""
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise InvalidParameter(f"scale must be a positive number, not {scale!r}")
    target, dense = city_size(scale)
    city = real_city()
    most = city.land.area * M_PER_DEG_X * M_PER_DEG_Y / (PU * PV)
    if target > most:
        raise InvalidParameter(f"scale {scale} does not fit on Da Nang's land: at most about "
                               f"{scale_for_cells(int(most)):.0f}")
    grid = Grid(seed)
    chosen = choose_cells(grid, city, target, (PU, PV), _to_grid)
    if chosen.i.size < target:
        raise InvalidParameter(f"scale {scale} does not fit on Da Nang's land: at most about "
                               f"{scale_for_cells(chosen.i.size):.0f}")
    # Chunk order: by cadastral sheet tile (2 x 3 cells), so a chunk holds whole sheets.
    tiles = np.lexsort((chosen.j, chosen.i, chosen.j // 3, chosen.i // 2))
    plan = Plan(grid, seed, chosen.i[tiles], chosen.j[tiles], chosen.dist[tiles], chosen.core_reach)
    plan.attrs.update(old_ward=chosen.old_ward[tiles], new_ward=chosen.new_ward[tiles])
    _cell_kinds(plan, min(1.0, max(0.0, (scale - DENSE_FROM) / (DENSE_FULL - DENSE_FROM))))
    _densify(plan, dense)
    return plan


def _to_grid(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local metres east/north -> grid coordinates (u across, v along the blocks)."""
    c, s = math.cos(ANGLE), math.sin(ANGLE)
    return x * c + y * s, -x * s + y * c


def _cell_kinds(plan: Plan, denser: float) -> None:
    """Per-cell character: kind of block, alley (kiệt), row split; the garden edge thins
    out as the city gets `denser` (0 to 1)."""
    rng = np.random.default_rng([plan.seed, 12])
    n = plan.size
    rnorm = np.minimum(plan.dist / max(plan.radius, 1.0), 1.0)
    draw = rng.random(n)
    kind = np.zeros(n, np.int8)                         # 0 ordinary urban block
    for code, upto in ((1, 0.025), (2, 0.033), (3, 0.045), (4, 0.065)):
        kind[(kind == 0) & (draw < upto)] = code        # 1 school, 2 hospital, 3 office, 4 park
    kind[rnorm > EDGE_FROM + (EDGE_DENSE - EDGE_FROM) * denser] = 5   # 5 edge: gardens, villages
    plan.attrs.update(
        rnorm=rnorm, kind=kind,
        kiet=(kind == 0) & (rng.random(n) < 0.35),
        kiet_frac=np.where(rng.random(n) < 0.3, 1.0, rng.uniform(0.45, 0.8, n)),
        vmid=rng.uniform(-3, 3, n))


def _densify(plan: Plan, dense: int) -> None:
    """Mark the `dense` ordinary blocks nearest the centre dense (no randomness, so the
    draws of every other generator stay as they are)."""
    ordinary = np.flatnonzero(plan.attrs["kind"] == 0)
    nearest = ordinary[np.lexsort((plan.cj[ordinary], plan.ci[ordinary], plan.dist[ordinary]))]
    flag = np.zeros(plan.size, bool)
    flag[nearest[:dense]] = True
    plan.attrs["dense"] = flag


def dense_alleys(plan: Plan, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grid v of the two kiệt through each of the (dense) `cells`: halfway through each
    half of the block (the halves are split at the block's middle kiệt or row split)."""
    u0, u1, v0, v1 = plan.grid.block(plan.ci[cells], plan.cj[cells])
    mid = (v0 + v1) / 2 + plan.attrs["vmid"][cells]
    gap = np.where(plan.attrs["kiet"][cells], ALLEY_HALF_M, 0.0)
    return (v0 + mid - gap) / 2, (mid + gap + v1) / 2


def stretch_of(orient: np.ndarray, cls: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Named stretch of a street at position k along it (row for N-S, column for E-W)."""
    length = np.where(orient == 0, STRETCH_NS[np.minimum(cls, 3)], STRETCH_EW[np.minimum(cls, 3)])
    return np.floor_divide(k, length)


def name_streets(plan: Plan, orient, line, stretch, cls, dist) -> list[str]:
    """Name each (orient, line, stretch) once, the most central first; returns the names
    of the given items."""
    rng = np.random.default_rng([plan.seed, 13])
    keys = list(zip(orient.tolist(), line.tolist(), stretch.tolist()))
    todo: dict[tuple, tuple[int, float]] = {}
    for key, c, d in zip(keys, cls.tolist(), dist.tolist()):
        if key not in plan.names and (key not in todo or d < todo[key][1]):
            todo[key] = (c, d)
    pools = {("a", 0): list(names.ARTERIALS_NS), ("a", 1): list(names.ARTERIALS_EW),
             "p": list(rng.permutation(names.PRIMARY)), "l": list(rng.permutation(names.LOCAL))}
    used = set(plan.names.values())
    counters = {"a": 0, "x": 0}
    for key, (c, _) in sorted(todo.items(), key=lambda kv: (kv[1][1], kv[0])):
        group = "a" if c == 0 else "p" if c <= 2 else "l"
        pool = pools[(group, key[0])] if group == "a" else pools[group]
        name = None
        while pool and name is None:
            candidate = pool.pop(0)
            name = None if candidate in used else candidate
        if name is None:
            counter = "a" if group == "a" else "x"
            counters[counter] += 1
            k = counters[counter]
            hood = names.NEIGHBOURHOODS[(k // 12) % len(names.NEIGHBOURHOODS)]
            number = k % 12 + 1 + 12 * (k // (12 * len(names.NEIGHBOURHOODS)))
            name = (names.PROVINCIAL_ROAD.format(600 + k) if group == "a" else
                    f"Đường {hood} {number}")
        used.add(name)
        plan.names[key] = name
    return [plan.names[k] for k in keys]
