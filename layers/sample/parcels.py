"""Cadastral parcels of the sample city, generated a chunk of cells at a time.

An ordinary block is split lengthwise into two rows of parcels, each row fronting its
street (with a kiệt between them in some blocks); rows are cut into parcels of a
frontage typical for their use (tube houses of ~7 m, shops of ~12 m on arterials and
primary streets, gardens of ~26 m at the edge of the city), with slightly skewed shared
boundaries. School, hospital, office and park blocks are a single parcel. Parcels are
numbered per ward and map sheet from north-west to south-east.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from . import names
from .rows import Batch, ewkb
from .streets import ALLEY_HALF_M, DENSE_FRONTAGE, STRETCH_EW, Plan, dense_alleys

PARCEL_COLUMNS = ("id", "ward_code", "sheet_no", "parcel_no", "area_m2", "land_use",
                  "owner_type", "address", "certificate_no", "geom")
SPECIAL_USE = {1: "DGD", 2: "DYT", 3: "TSC", 4: "DKV"}
FRONTAGE = {"res": 7.0, "com": 12.0, "edge": 26.0}
OWNERS = ("household", "organisation", "state", "religious", "foreign", "community")
CERT_SERIES = ("BA", "BD", "BK", "BV", "CD", "CH", "CK", "CS", "CT", "DA", "DB", "DE")


@dataclass
class Parcels:
    """The parcels of one chunk, as arrays (buildings and permits are built on them)."""

    id: np.ndarray
    cell: np.ndarray             # index of the plan cell
    left: np.ndarray             # innermost west boundary (m, grid frame)
    right: np.ndarray            # innermost east boundary
    v0: np.ndarray
    v1: np.ndarray
    front_south: np.ndarray      # fronts the street on its south side
    area: np.ndarray             # m² (grid frame)
    land_use: np.ndarray
    owner: np.ndarray
    ward_code: list
    sheet_no: np.ndarray
    parcel_no: np.ndarray
    address: list
    geoms: np.ndarray
    batch: Batch


def _rows(plan: Plan, cells: np.ndarray, rng):
    """The rows of parcels of `cells`: (cell, v0, v1, front line, fronts south, u0, u1,
    row type, parcels in the row). A dense block's two halves are each split again by a
    kiệt (see `dense_alleys`): its inner rows front the kiệt, numbered on the street."""
    g, a = plan.grid, plan.attrs
    i, j = plan.ci[cells], plan.cj[cells]
    u0, u1, v0, v1 = g.block(i, j)
    kind = a["kind"][cells]
    special = (kind >= 1) & (kind <= 4)
    mid = (v0 + v1) / 2 + a["vmid"][cells]
    gap = np.where(a["kiet"][cells], ALLEY_HALF_M, 0.0)
    dense = a["dense"][cells]
    two = ~special & ~dense
    ka, kc = dense_alleys(plan, cells)
    h = ALLEY_HALF_M
    pieces = [(special, v0, v1, j, True), (two, v0, mid - gap, j, True),
              (two, mid + gap, v1, j + 1, False),
              (dense, v0, ka - h, j, True), (dense, ka + h, mid - gap, j, True),
              (dense, mid + gap, kc - h, j + 1, False), (dense, kc + h, v1, j + 1, False)]
    cell, rv0, rv1, line, ru0, ru1 = (np.concatenate(c) for c in zip(*(
        (cells[m], lo[m], hi[m], ln[m], u0[m], u1[m]) for m, lo, hi, ln, _ in pieces)))
    south = np.concatenate([np.full(int(m.sum()), s) for m, *_, s in pieces])
    rkind = a["kind"][cell]
    major = g.vcls(line) <= 1
    row_type = np.where(rkind == 5, "edge", np.where(major, "com", "res"))
    mean = np.vectorize(FRONTAGE.get, otypes=[float])(row_type)
    mean = np.where(a["dense"][cell], mean * DENSE_FRONTAGE, mean)
    n = np.maximum(1, np.round((ru1 - ru0) / mean * rng.uniform(0.85, 1.15, cell.size))).astype(int)
    n[(rkind >= 1) & (rkind <= 4)] = 1
    order = np.argsort(cell, kind="stable")
    return (cell[order], rv0[order], rv1[order], line[order], south[order], ru0[order],
            ru1[order], row_type[order], n[order])


def _land_use(rng, row_type, kind):
    draw = rng.random(row_type.size)
    use = np.where(row_type == "res", np.where(draw < 0.96, "ODT", "TMD"),
                   np.where(row_type == "com", np.where(draw < 0.65, "TMD", "ODT"),
                            np.where(draw < 0.6, "CLN", "ONT"))).astype(object)
    for code, lu in SPECIAL_USE.items():
        use[kind == code] = lu
    return use


def _owners(rng, use):
    draw = rng.random(use.size)
    odt = np.select([draw < 0.94, draw < 0.985, draw < 0.988, draw < 0.993], [0, 1, 3, 4], 5)
    owner = np.where(use == "ODT", odt,
                     np.where(use == "TMD", np.where(draw < 0.6, 1, 0),
                              np.where(np.isin(use, ("CLN", "ONT")), np.where(draw < 0.9, 0, 5), 2)))
    return np.array(OWNERS, dtype=object)[owner]


def build_parcels(plan: Plan, cells: np.ndarray, chunk: int, id_base: int,
                  ward_codes: list, ward_names: list) -> Parcels:
    """Parcels of the cells `cells` (whole map sheets), ids from id_base + 1."""
    g = plan.grid
    rng = np.random.default_rng([plan.seed, 41, chunk])
    cell, rv0, rv1, line, south, ru0, ru1, row_type, n = _rows(plan, cells, rng)
    # Boundaries between neighbouring parcels: shared, jittered and slightly skewed.
    starts = np.concatenate([[0], np.cumsum(n + 1)[:-1]])
    row_of_b = np.repeat(np.arange(n.size), n + 1)
    t = np.arange(row_of_b.size) - starts[row_of_b]
    inner = (t > 0) & (t < n[row_of_b])
    frac = t / n[row_of_b] + inner * rng.uniform(-0.22, 0.22, t.size) / n[row_of_b]
    skew = inner * rng.uniform(-0.5, 0.5, t.size)
    bu = ru0[row_of_b] + frac * (ru1 - ru0)[row_of_b]
    b_lo, b_hi = bu - skew / 2, bu + skew / 2
    row = np.repeat(np.arange(n.size), n)
    b = starts[row] + np.arange(row.size) - np.repeat(np.cumsum(n) - n, n)
    pl_lo, pl_hi, pr_lo, pr_hi = b_lo[b], b_hi[b], b_lo[b + 1], b_hi[b + 1]
    pv0, pv1 = rv0[row], rv1[row]
    pcell = cell[row]
    us = np.stack([pl_lo, pr_lo, pr_hi, pl_hi, pl_lo], axis=1)
    vs = np.stack([pv0, pv0, pv1, pv1, pv0], axis=1)
    lon, lat = g.lonlat(us, vs)
    polys = shapely.polygons(np.stack([lon, lat], axis=2))
    area = ((pr_lo - pl_lo) + (pr_hi - pl_hi)) / 2 * (pv1 - pv0)

    kind = plan.attrs["kind"][pcell]
    use = _land_use(rng, row_type[row], kind)
    owner = _owners(rng, use)
    ward = plan.attrs["new_ward"][pcell]
    sheet = plan.attrs["sheet_no"][pcell]
    uc, vc = (pl_lo + pr_hi) / 2, (pv0 + pv1) / 2
    order = np.lexsort((uc, -np.round(vc, 1), sheet, ward))
    ws = np.stack([ward, sheet], axis=1)[order]
    new_group = np.concatenate([[True], (ws[1:] != ws[:-1]).any(axis=1)])
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(ws.shape[0]), 0))
    parcel_no = np.empty(order.size, int)
    parcel_no[order] = np.arange(order.size) - group_start + 1

    # Address: house number along the street the parcel fronts (even on the north side).
    pline, psouth, pi = line[row], south[row], plan.ci[pcell]
    cls = g.vcls(pline).astype(int)
    stretch = np.floor_divide(pi, STRETCH_EW[np.minimum(cls, 3)])
    pos = uc - g.U(stretch * STRETCH_EW[np.minimum(cls, 3)])
    house = 2 * (np.maximum(pos, 0) // 4.5).astype(int) + np.where(psouth, 2, 1)
    street = [names.short_street(plan.names[(1, ln, s)]) for ln, s in zip(pline.tolist(), stretch.tolist())]
    wards = ward.tolist()
    address = [f"{h} {s}, {ward_names[w]}" for h, s, w in zip(house.tolist(), street, wards)]
    certified = np.isin(owner, ("household", "organisation", "religious", "foreign")) & (
        rng.random(owner.size) < 0.9)
    series = rng.integers(0, len(CERT_SERIES), owner.size)
    number = rng.integers(1, 999_999, owner.size)
    cert = [f"{CERT_SERIES[s]} {k:06d}" if c else None
            for c, s, k in zip(certified.tolist(), series.tolist(), number.tolist())]

    # Rows go out in parcel-number order, so ids follow the cadastral numbering.
    ids = np.empty(order.size, np.int64)
    ids[order] = id_base + 1 + np.arange(order.size)
    codes = [ward_codes[w] for w in wards]
    geoms = ewkb(shapely.multipolygons(polys, indices=np.arange(polys.size)))
    rows = list(zip(ids.tolist(), codes, sheet.tolist(), parcel_no.tolist(),
                    np.round(area, 1).tolist(), use.tolist(), owner.tolist(), address, cert, geoms))
    rows = [rows[k] for k in order.tolist()]
    return Parcels(ids, pcell, np.maximum(pl_lo, pl_hi), np.minimum(pr_lo, pr_hi), pv0, pv1,
                   psouth, area, use, owner, codes, sheet, parcel_no, address, polys,
                   Batch("parcels", PARCEL_COLUMNS, rows))
