"""The road network of the sample city: street segments between grid nodes (the sides of
the city's cells, so every road lies on land), kiệt (alleys) inside some blocks, and
the intersections where three or more street segments meet."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from . import names
from .rows import ewkb
from .streets import ALLEY, LANES, NU, NV, PV, SPEED, STRETCH_NS, WIDTH_M, Plan, dense_alleys, name_streets, stretch_of

SURFACES = np.array(["asphalt", "concrete", "paving", "gravel", "earth"], dtype=object)


@dataclass
class Network:
    """Road segments and intersections, as arrays (the traffic layers build on them)."""

    seg_id: np.ndarray
    seg_cls: np.ndarray
    seg_name: list
    seg_a: np.ndarray          # (n, 2) lon/lat of the start
    seg_b: np.ndarray          # (n, 2) lon/lat of the end
    seg_orient: np.ndarray     # 0 north-south, 1 east-west, 2 alley
    seg_k: np.ndarray          # position along its street (row or column)
    node_id: np.ndarray
    node_xy: np.ndarray        # (m, 2) lon/lat
    node_name: list
    node_signal: np.ndarray
    node_major: np.ndarray     # both streets arterial
    road_rows: list
    node_rows: list


def _unique_edges(orient, line, k):
    key = np.stack([orient, line, k], axis=1)
    uniq = np.unique(key, axis=0)
    return uniq[:, 0], uniq[:, 1], uniq[:, 2]


def _street_segments(plan: Plan):
    ci, cj = plan.ci, plan.cj
    zeros, ones = np.zeros_like(ci), np.ones_like(ci)
    orient = [zeros, zeros, ones, ones]
    line = [ci, ci + 1, cj, cj + 1]
    k = [cj, cj, ci, ci]
    return _unique_edges(np.concatenate(orient), np.concatenate(line), np.concatenate(k))


def build_network(plan: Plan, road_base: int = 0, node_base: int = 0) -> Network:
    g = plan.grid
    rng = np.random.default_rng([plan.seed, 31])
    orient, line, k = _street_segments(plan)
    ns = orient == 0
    u_a = np.where(ns, g.U(np.where(ns, line, 0)), g.U(np.where(ns, 0, k)))
    u_b = np.where(ns, u_a, g.U(np.where(ns, 0, k + 1)))
    v_a = np.where(ns, g.V(np.where(ns, k, 0)), g.V(np.where(ns, 0, line)))
    v_b = np.where(ns, g.V(np.where(ns, k + 1, 0)), v_a)
    cls = np.where(ns, g.ucls(np.where(ns, line, 0)), g.vcls(np.where(ns, 0, line))).astype(int)
    dist = np.hypot((u_a + u_b) / 2, (v_a + v_b) / 2)
    seg_names = name_streets(plan, orient, line, stretch_of(orient, cls, k), cls, dist)
    oneway = np.where(ns, g.oneway_u[np.where(ns, line, 0) + NU],
                      g.oneway_v[np.where(ns, 0, line) + NV])

    # Kiệt: an alley halfway through some blocks, opening onto the block's west street,
    # and two more right through each dense block.
    kiet = plan.attrs["kiet"]
    ai, aj = plan.ci[kiet], plan.cj[kiet]
    u0, u1, v0, v1 = g.block(ai, aj)
    av = (v0 + v1) / 2 + plan.attrs["vmid"][kiet]
    frac = plan.attrs["kiet_frac"][kiet]
    a_ua = g.U(ai)
    a_ub = np.where(frac >= 1.0, g.U(ai + 1), u0 + frac * (u1 - u0))
    plan.attrs["alley_v"] = np.where(kiet, 0.0, np.nan)
    plan.attrs["alley_v"][kiet] = av
    dense = np.flatnonzero(plan.attrs["dense"])
    di, dj = np.tile(plan.ci[dense], 2), np.tile(plan.cj[dense], 2)
    ai, aj = np.concatenate([ai, di]), np.concatenate([aj, dj])
    a_ua = np.concatenate([a_ua, g.U(di)])
    a_ub = np.concatenate([a_ub, g.U(di + 1)])
    av = np.concatenate([av, *dense_alleys(plan, dense)])
    parent_cls = g.ucls(ai).astype(int)
    st = stretch_of(np.zeros_like(ai), parent_cls, aj)
    house = 2 * (((aj - st * STRETCH_NS[parent_cls]) * PV + av - g.V(aj)) // 5).astype(int) + 1
    alley_names = [f"Kiệt {h} {names.short_street(plan.names[(0, i, s)])}"
                   for h, i, s in zip(house.tolist(), ai.tolist(), st.tolist())]
    alley_cells = np.concatenate([np.flatnonzero(kiet), dense, dense])

    all_ua = np.concatenate([u_a, a_ua]); all_ub = np.concatenate([u_b, a_ub])
    all_va = np.concatenate([v_a, av]); all_vb = np.concatenate([v_b, av])
    lon_a, lat_a = g.lonlat(all_ua, all_va)
    lon_b, lat_b = g.lonlat(all_ub, all_vb)
    seg_a, seg_b = np.stack([lon_a, lat_a], 1), np.stack([lon_b, lat_b], 1)
    all_cls = np.concatenate([cls, np.full(ai.size, ALLEY)])
    all_names = seg_names + alley_names
    n = all_cls.size
    edge = np.concatenate([np.minimum(dist / max(plan.radius, 1.0), 1.0),
                           plan.attrs["rnorm"][alley_cells]]) > 0.86
    draw = rng.random(n)
    surface_i = np.where(all_cls <= 2, 0, np.where(all_cls == 3, np.where(draw < 0.8, 0, 1),
                                                   np.where(draw < 0.85, 1, 2)))
    surface_i = np.where(edge & (all_cls >= 3), np.where(draw < 0.5, 1, np.where(draw < 0.8, 3, 4)),
                         surface_i)
    # Never wider than the gap the blocks leave (a building at its parcel front stays
    # outside the right-of-way): the width varies below the class's nominal width only.
    width = WIDTH_M[all_cls] - np.where(all_cls <= 1, np.abs(rng.integers(-2, 3, n)) * 1.0, 0.0)
    lines = shapely.linestrings(np.stack([seg_a, seg_b], axis=1))
    geoms = shapely.multilinestrings(lines, indices=np.arange(n))
    ids = road_base + 1 + np.arange(n)
    road_rows = list(zip(
        ids.tolist(), [f"SEG-{i:06d}" for i in range(1, n + 1)], all_names,
        [("arterial", "primary", "secondary", "local", "alley")[c] for c in all_cls.tolist()],
        LANES[all_cls].tolist(), np.round(width, 1).tolist(), SURFACES[surface_i].tolist(),
        np.concatenate([oneway, np.zeros(ai.size, bool)]).tolist(),
        SPEED[all_cls].tolist(), ewkb(geoms)))
    nodes = _intersections(plan, orient, line, k, cls, seg_names, node_base)
    node_id, node_xy, node_name, node_signal, node_major, node_rows = nodes
    return Network(ids, all_cls, all_names, seg_a, seg_b,
                   np.concatenate([orient, np.full(ai.size, 2)]), np.concatenate([k, aj]),
                   node_id, node_xy, node_name, node_signal, node_major, road_rows, node_rows)


def _intersections(plan, orient, line, k, cls, seg_names, node_base):
    """Nodes where three or more street segments meet; named after both streets."""
    g = plan.grid
    ns = orient == 0
    ni = np.concatenate([np.where(ns, line, k), np.where(ns, line, k + 1)])
    nj = np.concatenate([np.where(ns, k, line), np.where(ns, k + 1, line)])
    both = np.concatenate([orient, orient])
    seg_idx = np.concatenate([np.arange(orient.size)] * 2)
    key = plan.keys(ni, nj)
    uniq, first, counts = np.unique(key, return_index=True, return_counts=True)
    keep = counts >= 3
    street = {0: {}, 1: {}}
    for kk, o, s in zip(key.tolist(), both.tolist(), seg_idx.tolist()):
        street[o].setdefault(kk, seg_names[s])
    node_i, node_j, legs = ni[first][keep], nj[first][keep], counts[keep]
    node_keys = uniq[keep]
    cu, cv = g.ucls(node_i).astype(int), g.vcls(node_j).astype(int)
    signal = (np.maximum(cu, cv) <= 1) | ((np.minimum(cu, cv) == 0) & (np.maximum(cu, cv) <= 2))
    lon, lat = g.lonlat(g.U(node_i), g.V(node_j))
    xy = np.stack([lon, lat], 1)
    node_names = [f"{'Ngã tư' if lg >= 4 else 'Ngã ba'} {names.short_street(street[0][kk])} - "
                  f"{names.short_street(street[1][kk])}"
                  for kk, lg in zip(node_keys.tolist(), legs.tolist())]
    ids = node_base + 1 + np.arange(node_keys.size)
    rows = list(zip(ids.tolist(), [f"NUT-{i:05d}" for i in range(1, ids.size + 1)], node_names,
                    signal.tolist(), legs.tolist(), ewkb(shapely.points(xy))))
    return ids, xy, node_names, signal, (cu == 0) & (cv == 0), rows
