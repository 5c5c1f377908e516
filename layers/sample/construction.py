"""Buildings, building permits and investment projects of the sample city.

A building is its parcel shrunk by setbacks typical of its use (attached tube houses,
set-back shops, a small house in a garden, an institution in its grounds). Floors follow
the use and are capped by the zone's max_floors, except for the deliberate irregulars:
about 1.5% of existing houses and shops stand 1-3 floors above their zone's limit (their
permit allows only the limit). About 6% of buildings built since 1995 and half of older
ones have no permit at all; every other building has one, located at its parcel.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import shapely

from . import names
from .parcels import Parcels
from .planted import Footprints, Planted, fit_to_zone, misplace, plant_permits, record_buildings, record_permits
from .rows import Batch, as_multipolygon, ewkb
from .streets import Plan

BUILDING_COLUMNS = ("id", "building_code", "parcel_id", "name", "floors", "height_m", "use",
                    "year_built", "status", "address", "geom")
PERMIT_COLUMNS = ("id", "permit_no", "parcel_id", "building_id", "permit_type", "status",
                  "applicant", "issued_on", "expires_on", "permitted_floors",
                  "permitted_floor_area_m2", "permitted_height_m", "geom")
PROJECT_COLUMNS = ("id", "project_code", "name", "investor", "budget_vnd", "phase", "status",
                   "start_date", "end_date", "area_m2", "geom")
STATUSES = np.array(["existing", "under_construction", "planned", "demolished"], dtype=object)
EPOCH = dt.date(1970, 1, 1)
OVER_LIMIT_SHARE = 0.015
NO_PERMIT_SHARE = 0.06


def _dates(days: np.ndarray) -> list:
    return [EPOCH + dt.timedelta(days=int(d)) for d in days.tolist()]


def _days(year) -> np.ndarray:
    """Days since 1970-01-01 of 1 January of each year."""
    return (np.asarray(year) - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(int)


def _setbacks(rng, use, width, depth):
    """(side, front, rear) setbacks in metres for each parcel."""
    n = use.size
    garden = np.isin(use, ("CLN", "ONT"))
    institution = np.isin(use, ("DGD", "DYT", "TSC"))
    house_w = np.minimum(width - 2, rng.uniform(7, 10, n))
    side = np.select([use == "ODT", use == "TMD", garden], [0.15, 0.8, (width - house_w) / 2], 8.0)
    front = np.select([use == "ODT", use == "TMD", garden],
                      [rng.uniform(0.3, 2, n), rng.uniform(2, 4, n), rng.uniform(3, 6, n)], 8.0)
    rear = np.select([use == "ODT", use == "TMD", garden],
                     [rng.uniform(2, 5, n), rng.uniform(3, 6, n),
                      depth - front - rng.uniform(9, 13, n)], 8.0)
    return side, front, np.where(institution, 8.0, rear)


def _floors(rng, use):
    n = use.size
    return np.select(
        [use == "ODT", use == "TMD", use == "DGD", use == "DYT", use == "TSC"],
        [rng.choice(np.arange(1, 7), n, p=[.08, .22, .30, .22, .12, .06]),
         np.minimum(2 + rng.geometric(0.18, n), 30), rng.integers(2, 5, n),
         rng.integers(3, 10, n), rng.integers(3, 12, n)],
        rng.integers(1, 3, n))


def buildings_and_permits(plan: Plan, p: Parcels, chunk: int, building_base: int,
                          permit_base: int, ward_names: dict,
                          planted: Planted | None = None) -> tuple[Batch, Batch]:
    """The buildings and permits of a chunk of parcels; the irregularities planted in
    them are recorded in `planted`."""
    g = plan.grid
    planted = planted if planted is not None else Planted()
    rng = np.random.default_rng([plan.seed, 51, chunk])
    prng = np.random.default_rng([plan.seed, 52, chunk])
    use = p.land_use
    n = use.size
    width, depth = p.right - p.left, p.v1 - p.v0
    side, front, rear = _setbacks(rng, use, width, depth)
    bu0, bu1 = p.left + side, p.right - side
    bv0 = np.where(p.front_south, p.v0 + front, p.v0 + rear)
    bv1 = np.where(p.front_south, p.v1 - rear, p.v1 - front)
    chance = np.select([use == "ODT", use == "TMD", use == "CLN", use == "ONT", use == "DKV"],
                       [0.93, 0.95, 0.3, 0.85, 0.0], 1.0)
    has = (rng.random(n) < chance) & (bu1 - bu0 >= 2.5) & (bv1 - bv0 >= 4)
    k = np.flatnonzero(has)
    m = k.size
    buse = use[k]
    zmax = plan.attrs["zone_max_floors"][p.cell[k]]
    wanted = _floors(rng, buse)
    base_floors = np.minimum(wanted, zmax)
    status_i = rng.choice(4, m, p=[0.94, 0.035, 0.015, 0.01])
    live = status_i <= 1
    over = (np.isin(buse, ("ODT", "TMD")) & (status_i == 0) & (rng.random(m) < OVER_LIMIT_SHARE))
    fp = Footprints(bu0[k], bu1[k], bv0[k], bv1[k],
                    np.where(over, zmax + rng.integers(1, 4, m), base_floors), over)
    fit_to_zone(plan, p, k, fp, base_floors, live, prng)
    moved = misplace(plan, p, k, fp, live, buse, prng)
    floors, over = fp.floors, fp.over
    height = np.round(floors * 3.4 + 0.6 + rng.uniform(0, 1, m), 1)
    year = np.select([np.isin(buse, ("ODT", "CLN", "ONT")), buse == "TMD"],
                     [1975 + np.floor(50 * rng.beta(2.2, 1.3, m)), rng.integers(1995, 2026, m)],
                     rng.integers(1978, 2023, m)).astype(int)
    built = (status_i == 0) | (status_i == 3)
    draw = rng.random(m)
    kinds = np.select([buse == "ODT", buse == "TMD", np.isin(buse, ("DGD", "DYT")), buse == "TSC"],
                      [np.where(draw < 0.92, "residential", "mixed"),
                       np.where(draw < 0.6, "commercial", np.where(draw < 0.85, "mixed", "office")),
                       "public", "office"], "residential").astype(object)
    kinds[p.owner[k] == "religious"] = "religious"
    bname = [_building_name(u, i, ward_names[p.ward_code[j]])
             for u, i, j in zip(buse.tolist(), (draw * 1e6).astype(int).tolist(), k.tolist())]
    lon, lat = g.lonlat(np.stack([fp.u0, fp.u1, fp.u1, fp.u0, fp.u0], 1),
                        np.stack([fp.v0, fp.v0, fp.v1, fp.v1, fp.v0], 1))
    foot = shapely.polygons(np.stack([lon, lat], axis=2))
    bids = building_base + 1 + np.arange(m)
    record_buildings(planted, plan, p, k, fp, height, live, bids, moved)
    codes = [f"CT-{p.ward_code[j]}-{p.sheet_no[j]:03d}-{p.parcel_no[j]:04d}" for j in k.tolist()]
    buildings = Batch("buildings", BUILDING_COLUMNS, list(zip(
        bids.tolist(), codes, p.id[k].tolist(), bname, floors.tolist(), height.tolist(),
        kinds.tolist(), [y if b else None for y, b in zip(year.tolist(), built.tolist())],
        STATUSES[status_i].tolist(), [p.address[j] for j in k.tolist()],
        ewkb(shapely.multipolygons(foot, indices=np.arange(m))))))
    ctx = dict(k=k, bids=bids, status_i=status_i, year=year, built=built, over=over, zmax=zmax,
               floors=floors, height=height, area=(fp.u1 - fp.u0) * (fp.v1 - fp.v0))
    permits = _permits(rng, prng, p, ctx, permit_base, ward_names, planted)
    return buildings, permits


def _permits(rng, prng, p: Parcels, b: dict, permit_base: int, ward_names: dict,
             planted: Planted) -> Batch:
    """Most buildings have a permit; the rest are the deliberate "no permit" cases. A few
    permits are planted expired, too small, too low or misplaced."""
    k, status_i, year, built, over = b["k"], b["status_i"], b["year"], b["built"], b["over"]
    m = k.size
    modern = year >= 1995
    skip = (status_i <= 1) & np.where(modern | ~built, rng.random(m) < NO_PERMIT_SHARE,
                                       rng.random(m) < 0.5)
    planted.add("no_permit", b["bids"][skip])
    q = np.flatnonzero(~skip)
    s, yq = status_i[q], year[q]
    ptype = np.select([s == 3, built[q] & ~modern[q]], ["demolition", "renovation"],
                      np.where(rng.random(q.size) < 0.95, "new", "extension")).astype(object)
    issued = np.select(
        [s == 3, s == 2, s == 1, ptype == "renovation"],
        [_days(2024) + rng.integers(0, 600, q.size), _days(2025) + 273 + rng.integers(0, 150, q.size),
         _days(2024) + rng.integers(0, 700, q.size), _days(2000) + rng.integers(0, 365 * 24, q.size)],
        _days(yq - 1) + rng.integers(0, 365, q.size))
    pstatus = np.where(s == 2, "pending", np.where(rng.random(q.size) < 0.005, "revoked", "issued"))
    zmax, floors, area = b["zmax"][q], b["floors"][q], b["area"][q]
    permitted = np.where(over[q], zmax, np.minimum(floors + (rng.random(q.size) < 0.1), zmax))
    permit = plant_permits(prng, dict(s=s, issued=issued, status=pstatus, over=over[q],
                                      floors=floors, permitted=permitted, area=area,
                                      use=p.land_use[k[q]]))
    parcel_of = k[q]
    points = shapely.point_on_surface(p.geoms[parcel_of])
    points = shapely.transform(points, lambda xy: xy + permit["offset"][:, None] * [0.0, 1.0])
    seq = permit_base + 1 + np.arange(q.size)
    record_permits(planted, b, q, permit, seq)
    applicants = [_applicant(p.owner[j], j, ward_names[p.ward_code[j]]) for j in parcel_of.tolist()]
    return Batch("permits", PERMIT_COLUMNS, list(zip(
        seq.tolist(), [f"{i}/GPXD-SXD" for i in seq.tolist()], p.id[parcel_of].tolist(),
        b["bids"][q].tolist(), ptype.tolist(), permit["status"].tolist(), applicants,
        _dates(permit["issued"]), _dates(permit["expires"]), permitted.tolist(),
        permit["floor_area"].tolist(), permit["height"].tolist(), ewkb(points))))


def _building_name(use: str, k: int, ward: str) -> str | None:
    place = ward.split(" ", 1)[1]
    if use == "DGD":
        level = ("Trường Mầm non", "Trường Tiểu học", "Trường Trung học cơ sở")[k % 3]
        return f"{level} {names.short_street(names.LOCAL[k % len(names.LOCAL)])}"
    if use == "DYT":
        return ("Trạm Y tế " if k % 3 else "Phòng khám Đa khoa ") + place
    if use == "TSC":
        office = ("Ủy ban nhân dân", "Công an", "Kho bạc Nhà nước", "Chi cục Thuế")[k % 4]
        return f"Trụ sở {office} {ward}" if k % 4 == 0 else f"Trụ sở {office} khu vực {place}"
    if use == "TMD" and k % 10 == 0:
        return f"Khách sạn {names.PLACE_WORDS[k % len(names.PLACE_WORDS)]}"
    return None


def _applicant(owner: str, k: int, ward: str) -> str:
    if owner == "household":
        return names.person_name(k * 7919)
    if owner in ("organisation", "foreign"):
        return names.COMPANIES[k % len(names.COMPANIES)]
    if owner == "religious":
        return "Ban Trị sự Giáo hội Phật giáo Việt Nam thành phố Đà Nẵng"
    if owner == "community":
        return f"Cộng đồng dân cư {ward}"
    return f"Ủy ban nhân dân {ward}"


def projects_batch(plan: Plan, scale: float, id_base: int = 0,
                   planted: Planted | None = None) -> Batch:
    """A few investment projects, each over a small rectangle of blocks; the first one
    reaches into a park zone (planted), others may too (recorded)."""
    g = plan.grid
    rng = np.random.default_rng([plan.seed, 61])
    count = int(np.clip(round(4 * np.sqrt(scale)) + 2, 4, 40))
    pool = np.flatnonzero((plan.attrs["rnorm"] > 0.15) & (plan.attrs["rnorm"] < 0.95))
    pool = pool if pool.size >= count else np.arange(plan.size)
    chosen = rng.choice(pool, size=min(count, pool.size), replace=False)
    protected = plan.attrs["zone_protected"]
    parks = np.setdiff1d(pool[protected[pool]], chosen)
    if parks.size and not protected[chosen].any():
        chosen[0] = parks[0]
    park_tiles = {(i // 4, j // 6) for i, j in zip(plan.ci[protected].tolist(), plan.cj[protected].tolist())}
    rows, geoms = [], []
    for n, c in enumerate(chosen.tolist()):
        w, h = int(rng.integers(1, 4)), int(rng.integers(2, 5))
        ii, jj = np.meshgrid(plan.ci[c] + np.arange(w), plan.cj[c] + np.arange(h), indexing="ij")
        ii, jj = ii.ravel(), jj.ravel()
        inside = plan.has_cell(ii, jj)
        ii, jj = ii[inside], jj[inside]
        geoms.append(as_multipolygon(shapely.coverage_union_all(g.cell_quads(ii, jj))))
        if planted is not None and any((i // 4, j // 6) in park_tiles for i, j in zip(ii.tolist(), jj.tolist())):
            planted.add("project_protected_zone", [id_base + n + 1])
        area = float(((g.U(ii + 1) - g.U(ii)) * (g.V(jj + 1) - g.V(jj))).sum())
        template, kind = names.PROJECT_KINDS[int(rng.integers(len(names.PROJECT_KINDS)))]
        place = names.PLACE_WORDS[n % len(names.PLACE_WORDS)]
        name = template.format(place) + (f" (giai đoạn {n // 12 + 1})" if n >= 12 else "")
        investor = {"park": names.INVESTORS[1], "road": names.INVESTORS[1],
                    "school": names.INVESTORS[0], "hospital": names.INVESTORS[0],
                    "resettlement": names.INVESTORS[7]}.get(kind, names.INVESTORS[2 + n % 5])
        budget = int(round(float(np.exp(rng.normal(np.log(800e9), 0.8))), -6))
        phase = ("planning", "approval", "site_clearance", "construction", "completed",
                 "suspended")[int(rng.choice(6, p=[.15, .15, .2, .3, .12, .08]))]
        status = {"completed": "Đã hoàn thành", "suspended": "Tạm dừng"}.get(
            phase, "Chậm tiến độ" if rng.random() < 0.35 else "Đúng tiến độ")
        start = dt.date(2018, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365 * 8)))
        end = start + dt.timedelta(days=int(rng.integers(2 * 365, 5 * 365)))
        rows.append((id_base + n + 1, f"DA-{start.year}-{n + 1:03d}", name, investor, budget,
                     phase, status, start, end, round(area, 1)))
    return Batch("projects", PROJECT_COLUMNS,
                 [r + (gm,) for r, gm in zip(rows, ewkb(np.array(geoms, dtype=object)))])
