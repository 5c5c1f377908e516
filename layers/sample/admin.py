"""Administrative units and zoning areas of the sample city.

Every cell of the grid belongs to one pre-reform district (nearest district seed; seeds
lie in the direction of the real district centres, drawn towards the city centre so
that even a small city has all seven), to one old ward of that district, and to one new
(post-1 July 2025) ward. Units are unions of whole cells, so their boundaries follow
street centre lines, they tile the city, and every parcel lies in exactly one unit of
each kind. Zones (quy hoạch phân khu) are 4 x 6 cell tiles bounded by primary streets.

Codes are GSO-style but invented for the sample: city 48, districts 490-497 (as GSO),
old wards 201xx-203xx, new wards 204xx.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import shapely

from . import names
from .extent import to_local
from .rows import Batch, as_multipolygon, ewkb
from .streets import ANGLE, Plan

REFORM_END = dt.date(2025, 6, 30)
REFORM_START = dt.date(2025, 7, 1)
CITY_FROM = dt.date(1997, 1, 1)
CAM_LE_FROM = dt.date(2005, 8, 5)
OLD_WARD_BASE = {"490": 20194, "491": 20227, "492": 20257, "493": 20296, "494": 20317,
                 "495": 20330, "497": 20350}
NEW_WARD_BASE = 20401
ABBREVIATIONS = {"490": "LC", "491": "TK", "492": "HC", "493": "ST", "494": "NHS",
                 "495": "CL", "497": "HV"}
ADMIN_COLUMNS = ("id", "code", "name", "name_en", "level", "parent_code", "population",
                 "valid_from", "valid_to", "geom")
ZONE_COLUMNS = ("id", "zone_code", "name", "planned_use", "max_floors", "max_height_m",
                "max_coverage_pct", "max_far", "plan_name", "approved_on", "geom")


def cell_xy(plan: Plan) -> np.ndarray:
    g = plan.grid
    u = (g.U(plan.ci) + g.U(plan.ci + 1)) / 2
    v = (g.V(plan.cj) + g.V(plan.cj + 1)) / 2
    c, s = np.cos(ANGLE), np.sin(ANGLE)
    return np.stack([u * c - v * s, u * s + v * c], axis=1)


def _nearest(points: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    return np.argmin(((points[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2), axis=1)


def _split(rng, xy, members, count):
    """Split the cells `members` into `count` parts around seed cells; the parts are
    ordered by distance of their seed from the cells' centroid (central first)."""
    seeds = np.sort(rng.choice(members, size=count, replace=False))
    centre = xy[members].mean(axis=0)
    seeds = seeds[np.argsort(np.hypot(*(xy[seeds] - centre).T), kind="stable")]
    return _nearest(xy[members], xy[seeds])


def assign_units(plan: Plan) -> dict:
    """Fill plan.attrs with district / old ward / new ward / zone / sheet of each cell and
    return the unit descriptions."""
    rng = np.random.default_rng([plan.seed, 21])
    xy = cell_xy(plan)
    # Real district centres, pulled towards the centre (distance r -> R(1 - e^(-r/0.8R)),
    # which keeps their order and direction) so that a small city still has all seven.
    real = np.array([to_local(*d[2]) for d in names.DISTRICTS])
    r = np.maximum(np.hypot(*real.T), 1.0)
    seeds = real * (plan.radius * (1 - np.exp(-r / (0.8 * plan.radius))) / r)[:, None]
    district = _nearest(xy, seeds)
    n = plan.size
    old_ward, new_ward = np.zeros(n, int), np.zeros(n, int)
    old_units, new_units = [], []
    per_old, per_new = max(6.0, n / 56), max(18.0, n / 15)
    for d, (code, _, _, olds, news) in enumerate(names.DISTRICTS):
        members = np.flatnonzero(district == d)
        if members.size == 0:
            continue
        k_old = int(np.clip(round(members.size / per_old), 1, min(len(olds), members.size)))
        k_new = int(np.clip(round(members.size / per_new), 1, min(len(news), members.size)))
        old_ward[members] = len(old_units) + _split(rng, xy, members, k_old)
        new_ward[members] = len(new_units) + _split(rng, xy, members, k_new)
        commune = code == "497"
        for w in range(k_old):
            prefix = "Xã" if commune else "Phường"
            old_units.append((f"{OLD_WARD_BASE[code] + 3 * w}", f"{prefix} {olds[w]}",
                              "commune" if commune else "ward", d))
        for w in range(k_new):
            new_units.append((f"{NEW_WARD_BASE + 3 * len(new_units)}", news[w],
                              "commune" if news[w].startswith("Xã") else "ward", d))
    kind = plan.attrs["kind"]
    people = np.where(kind == 5, 90, np.where(kind == 0, 420, 60)) * rng.uniform(0.7, 1.3, n)
    plan.attrs.update(district=district, old_ward=old_ward, new_ward=new_ward, people=people)
    _assign_sheets(plan, new_ward)
    return {"old": old_units, "new": new_units}


def _assign_sheets(plan: Plan, ward: np.ndarray) -> None:
    """Map sheet (tờ bản đồ) of each cell: 2 x 3 cell tiles, numbered per new ward from
    north-west to south-east."""
    key = np.stack([ward, -(plan.cj // 3), plan.ci // 2], axis=1)
    uniq, inverse = np.unique(key, axis=0, return_inverse=True)
    first = np.searchsorted(uniq[:, 0], uniq[:, 0], side="left")
    plan.attrs["sheet_no"] = (np.arange(uniq.shape[0]) - first + 1)[inverse.ravel()]


def _name_en(name: str) -> str:
    ascii_name = names.ascii_name(name)
    for vi, en in (("Thanh pho ", "City"), ("Quan ", "District"), ("Huyen ", "District"),
                   ("Phuong ", "Ward"), ("Xa ", "Commune")):
        if ascii_name.startswith(vi):
            return f"{ascii_name[len(vi):]} {en}"
    return ascii_name


def admin_batch(plan: Plan, units: dict, id_base: int = 0) -> Batch:
    quads = plan.grid.cell_quads(plan.ci, plan.cj)
    people = plan.attrs["people"]
    rows = []

    def add(code, name, level, parent, mask, valid_from, valid_to):
        geom = as_multipolygon(shapely.coverage_union_all(quads[mask]))
        rows.append([id_base + len(rows) + 1, code, name, _name_en(name), level, parent,
                     int(people[mask].sum()), valid_from, valid_to, geom])

    add(names.CITY[0], names.CITY[1], "city", None, np.ones(plan.size, bool), CITY_FROM, None)
    district = plan.attrs["district"]
    for d, (code, name, *_rest) in enumerate(names.DISTRICTS):
        if (district == d).any():
            start = CAM_LE_FROM if code == "495" else CITY_FROM
            add(code, name, "district", names.CITY[0], district == d, start, REFORM_END)
    for w, (code, name, level, d) in enumerate(units["old"]):
        start = CAM_LE_FROM if names.DISTRICTS[d][0] == "495" else CITY_FROM
        add(code, name, level, names.DISTRICTS[d][0], plan.attrs["old_ward"] == w, start,
            REFORM_END)
    for w, (code, name, level, _d) in enumerate(units["new"]):
        add(code, name, level, names.CITY[0], plan.attrs["new_ward"] == w, REFORM_START, None)
    geoms = ewkb(np.array([r[-1] for r in rows], dtype=object))
    return Batch("admin_units", ADMIN_COLUMNS,
                 [tuple(r[:-1]) + (g,) for r, g in zip(rows, geoms)])


def zoning_batch(plan: Plan, id_base: int = 0) -> Batch:
    """Zones with their limits; also stores each cell's zone max floors for buildings."""
    rng = np.random.default_rng([plan.seed, 22])
    key = np.stack([plan.ci // 4, plan.cj // 6], axis=1)
    uniq, first, zone = np.unique(key, axis=0, return_index=True, return_inverse=True)
    zone = zone.ravel()
    nz = uniq.shape[0]
    rn = np.bincount(zone, plan.attrs["rnorm"]) / np.bincount(zone)
    draw = rng.random(nz)
    use = np.where(rn > 0.86, "ONT", np.where((rn < 0.3) | (draw < 0.2), "TMD", "ODT"))
    floors = np.where(use == "TMD", np.clip(24 - 14 * rn + rng.integers(-2, 3, nz), 9, 30),
                      np.where(use == "ODT", rng.integers(5, 8, nz), 3)).astype(int)
    coverage = np.where(use == "TMD", 60.0, np.where(use == "ODT", rng.choice([80.0, 85.0, 90.0], nz),
                                                     60.0))
    far = np.where(use == "TMD", np.round(rng.uniform(8, 13, nz), 1),
                   np.where(use == "ODT", np.round(floors * 0.8, 1), 1.8))
    quads = plan.grid.cell_quads(plan.ci, plan.cj)
    order = np.argsort(zone, kind="stable")
    bounds = np.searchsorted(zone[order], np.arange(nz + 1))
    district = plan.attrs["district"][first]
    title = {"TMD": "Khu thương mại - dịch vụ", "ODT": "Khu dân cư đô thị", "ONT": "Khu dân cư nông thôn"}
    rows = []
    for z in range(nz):
        code, dname = names.DISTRICTS[district[z]][:2]
        geom = as_multipolygon(shapely.coverage_union_all(quads[order[bounds[z]:bounds[z + 1]]]))
        abbr = ABBREVIATIONS[code]
        rows.append((id_base + z + 1, f"PK-{abbr}-{z + 1:04d}", f"{title[use[z]]} {abbr}-{z + 1}",
                     str(use[z]), int(floors[z]), round(floors[z] * 3.6 + 4, 1), float(coverage[z]),
                     float(far[z]), f"Quy hoạch phân khu {dname.split(' ', 1)[1]} tỷ lệ 1/2000",
                     dt.date(2019 + int(district[z]) % 5, 3 + int(district[z]), 15), geom))
    plan.attrs["zone_max_floors"] = floors[zone]
    plan.attrs["zone_id"] = id_base + 1 + zone
    geoms = ewkb(np.array([r[-1] for r in rows], dtype=object))
    return Batch("zoning", ZONE_COLUMNS, [r[:-1] + (g,) for r, g in zip(rows, geoms)])
