"""The sample city's deliberate irregularities, and the record of them.

The generator keeps every building within its zone's coverage and floor-area ratio and
its permit's limits, with a clear margin, except where it plants an irregularity on
purpose; `Planted` records each one as (rule id, feature id), so a test can compare the
planning checks with it (all found, none invented). The shares are small and the
draws come from their own random streams, so the rest of the city is unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

COVERAGE_SHARE = 0.05       # of the buildings that would naturally cover too much
FAR_SHARE = 0.02            # of the buildings whose zone allows a taller one
CROSSING_SHARE = 0.004      # buildings shifted 2.5 m onto their west neighbour
ROAD_SHARE = 0.004          # buildings moved 1.5 m into the street in front
EXPIRED_SHARE = 0.08        # of the buildings under construction
AREA_SHARE = PERMIT_HEIGHT_SHARE = OUTSIDE_SHARE = 0.004
MARGIN = 0.03               # clean values stay this far (relative) below a limit
CROSSING_SHIFT_M, ROAD_INTRUSION_M = 2.5, 1.5


@dataclass
class Planted:
    """(rule id -> feature ids) of the irregularities planted so far."""

    found: dict[str, set[int]] = field(default_factory=dict)

    def add(self, rule_id: str, ids) -> None:
        """Record features `ids` as breaking `rule_id`."""
        self.found.setdefault(rule_id, set()).update(int(i) for i in np.asarray(ids).tolist())

    def pairs(self) -> set[tuple[str, int]]:
        """Every (rule id, feature id)."""
        return {(r, i) for r, ids in self.found.items() for i in ids}


@dataclass
class Footprints:
    """Per building (grid metres): its extent, floors, what it wants and may have."""

    u0: np.ndarray
    u1: np.ndarray
    v0: np.ndarray
    v1: np.ndarray
    floors: np.ndarray
    over: np.ndarray


def fit_to_zone(plan, p, k, fp: Footprints, base_floors, live, prng) -> None:
    """Shrink footprints to the zone's coverage and floors to its floor-area ratio
    (MARGIN below each), except the planted cases; drop an over-floor plant whose ratio
    would sit within MARGIN of the limit (neither clearly clean nor clearly not)."""
    cell = p.cell[k]
    cov = plan.attrs["zone_coverage"][cell] / 100
    far = plan.attrs["zone_far"][cell]
    width = fp.u1 - fp.u0
    natural = width * (fp.v1 - fp.v0) / p.area[k]
    plant_cov = live & (natural > cov + MARGIN) & (prng.random(k.size) < COVERAGE_SHARE)
    c = np.where(plant_cov, natural, np.minimum(natural, cov - 0.04))
    depth = c * p.area[k] / width
    south = p.front_south[k]
    fp.v1[:] = np.where(south, fp.v0 + depth, fp.v1)
    fp.v0[:] = np.where(south, fp.v0, fp.v1 - depth)
    cap = np.maximum(1, np.floor(far * (1 - MARGIN) / c)).astype(int)
    ratio = c * fp.floors / far
    fp.over &= ~((ratio > 1 - MARGIN) & (ratio < 1 + MARGIN))
    clean = np.minimum(base_floors, cap)
    needed = np.ceil(far * 1.1 / c).astype(int)
    plant_far = (live & ~fp.over & ~plant_cov & (needed <= plan.attrs["zone_max_floors"][cell])
                 & (prng.random(k.size) < FAR_SHARE))
    fp.floors[:] = np.where(fp.over, fp.floors, np.where(plant_far, needed, clean))


def misplace(plan, p, k, fp: Footprints, live, use, prng) -> tuple[np.ndarray, np.ndarray]:
    """Shift a few buildings onto their west neighbour's parcel, a few into the street in
    front of them (its right-of-way)."""
    g = plan.grid
    draw = prng.random(k.size)
    small = live & np.isin(use, ("ODT", "TMD")) & ~fp.over
    block_u0 = g.block(plan.ci[p.cell[k]], plan.cj[p.cell[k]])[0]
    cross = small & (p.left[k] > block_u0 + 1.0) & (draw < CROSSING_SHARE)
    road = small & (draw >= CROSSING_SHARE) & (draw < CROSSING_SHARE + ROAD_SHARE)
    south = p.front_south[k]
    shift = np.where(south, -(fp.v0 - p.v0[k] + ROAD_INTRUSION_M), p.v1[k] - fp.v1 + ROAD_INTRUSION_M)
    fp.u0[:] -= np.where(cross, CROSSING_SHIFT_M, 0.0)
    fp.u1[:] -= np.where(cross, CROSSING_SHIFT_M, 0.0)
    fp.v0[:] += np.where(road, shift, 0.0)
    fp.v1[:] += np.where(road, shift, 0.0)
    return cross, road


def record_buildings(planted: Planted, plan, p, k, fp: Footprints, height, live, ids, moved) -> None:
    """Record the zoning, coverage, floor-area and placement irregularities planted."""
    cell = p.cell[k]
    c = (fp.u1 - fp.u0) * (fp.v1 - fp.v0) / p.area[k]
    planted.add("zoning_floors", ids[live & (fp.floors > plan.attrs["zone_max_floors"][cell])])
    planted.add("zoning_height", ids[live & (height > plan.attrs["zone_max_height"][cell])])
    planted.add("parcel_coverage", p.id[k][live & (c * 100 > plan.attrs["zone_coverage"][cell])])
    planted.add("parcel_far", p.id[k][live & (c * fp.floors > plan.attrs["zone_far"][cell])])
    planted.add("parcel_overlap", ids[moved[0]])
    planted.add("road_right_of_way", ids[moved[1]])


def plant_permits(prng, x: dict) -> dict:
    """Status, dates, permitted floor area and height and the point's offset (degrees
    north) of each permit: buildings under construction get permits valid for ten years,
    except a few planted long expired; a few permits are planted too small (floor area),
    too low (height) or located away from their parcel."""
    n = x["s"].size
    draw = prng.random(n)
    rising = x["s"] == 1
    expired = rising & (draw < EXPIRED_SHARE)
    standing = (x["s"] == 0) & ~x["over"]
    edges = np.cumsum([AREA_SHARE, PERMIT_HEIGHT_SHARE, OUTSIDE_SHARE])
    small = standing & (draw < edges[0])
    low = standing & (draw >= edges[0]) & (draw < edges[1])
    away = np.isin(x["use"], ("ODT", "TMD", "ONT", "CLN")) & (draw >= edges[1]) & (draw < edges[2])
    issued = np.where(expired, 18_000 + prng.integers(0, 700, n), x["issued"])   # 2019-2020
    floor_area = np.where(small, x["area"] * x["floors"] * 0.8, x["area"] * x["permitted"])
    height = np.where(low, x["floors"] * 3.4 - 2.0, x["permitted"] * 3.4 + 1.0)
    return {"status": np.where(expired, "expired", x["status"]), "issued": issued,
            "expires": issued + np.where(rising & ~expired, 3650, 365),
            "floor_area": np.round(floor_area, 1), "height": np.round(height, 1),
            "offset": np.where(away, 0.0006, 0.0), "expired": expired, "away": away}


def record_permits(planted: Planted, b: dict, q, permit: dict, seq) -> None:
    """Record the permit irregularities: expired, beyond floors, area or height (each
    with the rules' tolerances), misplaced."""
    live = b["status_i"][q] <= 1
    ids = b["bids"][q]
    floors = b["floors"][q]
    planted.add("permit_expired", ids[permit["expired"]])
    planted.add("beyond_permit_floors", ids[live & b["over"][q]])
    planted.add("beyond_permit_area",
                ids[live & (b["area"][q] * floors > permit["floor_area"] * 1.02)])
    planted.add("beyond_permit_height", ids[live & (b["height"][q] > permit["height"] + 1.0)])
    planted.add("permit_outside_parcel", seq[permit["away"]])
