"""Administrative units and zoning areas of the sample city.

The units are Da Nang's real ones (`wards`, `land`): the city, its seven districts and
56 wards and communes until 30 June 2025, and the 14 wards and communes of the old city
from 1 July 2025, with their official codes, OpenStreetMap names and boundaries. Their
validity intervals end exclusively: `valid_to` is the first day a unit is no longer
valid (2025-07-01 for the old ones), so on 30 June 2025 the old ones are valid and on
1 July the new ones. Every cell of the grid lies in one old and one new ward (`cells`),
so every parcel does too. Zones (quy hoạch phân khu) are 4 x 6 cell tiles; every
PROTECTED_EVERY-th is planned as a park (DKV), which investment projects must avoid.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import shapely

from . import names
from .land import RealCity, polygons, real_city
from .rows import Batch, as_multipolygon, ewkb
from .streets import Plan
from .wards import CAM_LE_FROM, CITY, CITY_FROM, DISTRICTS, REFORM

DISTRICT_CODES = tuple(DISTRICTS)
ADMIN_COLUMNS = ("id", "code", "name", "name_en", "level", "parent_code", "population",
                 "valid_from", "valid_to", "geom")
PROTECTED_EVERY = 23            # every 23rd zone is a park (protected from building projects)
ZONE_COLUMNS = ("id", "zone_code", "name", "planned_use", "max_floors", "max_height_m",
                "max_coverage_pct", "max_far", "plan_name", "approved_on", "geom")


def _level(name: str) -> str:
    return "commune" if name.startswith("Xã") else "ward"


def assign_units(plan: Plan) -> dict:
    """Fill plan.attrs with the district, people and map sheet of each cell (its wards
    were chosen with it) and return the units: "old" and "new" lists of (code, name,
    level, district code or None), in the order of the cells' ward indexes."""
    rng = np.random.default_rng([plan.seed, 21])
    city = real_city()
    district_of = np.array([DISTRICT_CODES.index(w.district) for w in city.old_wards])
    kind = plan.attrs["kind"]
    n = plan.size
    people = np.where(kind == 5, 90, np.where(kind == 0, 420, 60)) * rng.uniform(0.7, 1.3, n)
    plan.attrs.update(district=district_of[plan.attrs["old_ward"]], people=people)
    _assign_sheets(plan, plan.attrs["new_ward"])
    return {"old": [(w.code, w.name, _level(w.name), w.district) for w in city.old_wards],
            "new": [(w.code, w.name, _level(w.name), None) for w in city.new_wards]}


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
    """The city, districts, old and new wards with their real boundaries; population is
    the sample's own (the people of its blocks in each unit)."""
    city: RealCity = real_city()
    people = plan.attrs["people"]
    old_people = np.bincount(plan.attrs["old_ward"], people, minlength=len(city.old_wards))
    new_people = np.bincount(plan.attrs["new_ward"], people, minlength=len(city.new_wards))
    rows = []

    def add(code, name, level, parent, geom, population, valid_from, valid_to):
        rows.append([id_base + len(rows) + 1, code, name, _name_en(name), level, parent,
                     int(population), valid_from, valid_to, polygons(geom)])

    add(CITY[0], CITY[1], "city", None, shapely.union_all([w.geom for w in city.old_wards]),
        people.sum(), CITY_FROM, None)
    for code, (name, _abbr) in DISTRICTS.items():
        mine = [k for k, w in enumerate(city.old_wards) if w.district == code]
        start = CAM_LE_FROM if code == "495" else CITY_FROM
        add(code, name, "district", CITY[0], shapely.union_all([city.old_wards[k].geom for k in mine]),
            old_people[mine].sum(), start, REFORM)
    for k, ward in enumerate(city.old_wards):
        start = CAM_LE_FROM if ward.district == "495" else CITY_FROM
        add(ward.code, ward.name, _level(ward.name), ward.district, ward.geom, old_people[k],
            start, REFORM)
    for k, ward in enumerate(city.new_wards):
        add(ward.code, ward.name, _level(ward.name), CITY[0], ward.geom, new_people[k], REFORM, None)
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
    protected = np.arange(nz) % PROTECTED_EVERY == PROTECTED_EVERY // 3
    protected[0] |= not protected.any()
    use = np.where(protected, "DKV", use)
    quads = plan.grid.cell_quads(plan.ci, plan.cj)
    order = np.argsort(zone, kind="stable")
    bounds = np.searchsorted(zone[order], np.arange(nz + 1))
    district = plan.attrs["district"][first]
    title = {"TMD": "Khu thương mại - dịch vụ", "ODT": "Khu dân cư đô thị", "ONT": "Khu dân cư nông thôn",
             "DKV": "Khu cây xanh - công viên"}
    rows = []
    for z in range(nz):
        dname, abbr = DISTRICTS[DISTRICT_CODES[district[z]]]
        geom = as_multipolygon(shapely.coverage_union_all(quads[order[bounds[z]:bounds[z + 1]]]))
        rows.append((id_base + z + 1, f"PK-{abbr}-{z + 1:04d}", f"{title[use[z]]} {abbr}-{z + 1}",
                     str(use[z]), int(floors[z]), round(floors[z] * 3.6 + 4, 1), float(coverage[z]),
                     float(far[z]), f"Quy hoạch phân khu {dname.split(' ', 1)[1]} tỷ lệ 1/2000",
                     dt.date(2019 + int(district[z]) % 5, 3 + int(district[z]), 15), geom))
    plan.attrs["zone_max_floors"] = floors[zone]
    plan.attrs["zone_max_height"] = np.round(floors * 3.6 + 4, 1)[zone]
    plan.attrs["zone_coverage"] = coverage[zone]
    plan.attrs["zone_far"] = far[zone]
    plan.attrs["zone_protected"] = protected[zone]
    plan.attrs["zone_id"] = id_base + 1 + zone
    geoms = ewkb(np.array([r[-1] for r in rows], dtype=object))
    return Batch("zoning", ZONE_COLUMNS, [r[:-1] + (g,) for r, g in zip(rows, geoms)])
