"""Traffic of the sample city: counting stations on arterials and primary streets with
eight weeks of hourly counts (12 January - 8 March 2026: motorbikes dominating, morning
and evening peaks, quieter weekends, the Tết holiday of 14-22 February), incidents along the roads (1 January 2025 - 28 February 2026; floods in the
rainy season), and cameras at signalised intersections."""
from __future__ import annotations

import datetime as dt

import numpy as np
import shapely

from . import names
from .network import Network
from .rows import Batch, ewkb
from .streets import Plan

STATION_COLUMNS = ("id", "station_code", "name", "road_id", "direction", "geom")
COUNT_COLUMNS = ("station_id", "counted_at", "motorbikes", "cars", "trucks", "buses",
                 "avg_speed_kmh")
INCIDENT_COLUMNS = ("id", "incident_code", "occurred_at", "cleared_at", "incident_type",
                    "severity", "description", "road_id", "geom")
CAMERA_COLUMNS = ("id", "camera_code", "name", "camera_type", "status", "intersection_id",
                  "installed_on", "geom")
ICT = dt.timezone(dt.timedelta(hours=7), "ICT")
COUNTS_FROM = dt.datetime(2026, 1, 12, tzinfo=ICT)        # a Monday
COUNT_WEEKS = 8                                            # to Sunday 8 March 2026
COUNT_HOURS = COUNT_WEEKS * 168
TET = (33, 42)           # days after COUNTS_FROM of the Tết holiday (14-22 February 2026)
INCIDENTS_FROM = dt.datetime(2025, 1, 1, tzinfo=ICT)
INCIDENT_DAYS = 424                                        # to 28 February 2026
# Share of the daily peak per hour of the day (motorbikes; cars peak a little later).
PROFILE = np.array([.06, .04, .03, .03, .06, .20, .55, .95, 1.0, .70, .55, .55, .60, .50,
                    .55, .65, .80, .98, 1.0, .75, .55, .40, .25, .12])
TYPES = np.array(["collision", "breakdown", "flooding", "roadwork", "congestion", "other"])
DRY = np.array([.38, .17, .01, .14, .24, .06])
RAINY = np.array([.30, .15, .20, .08, .22, .05])
CLEAR_MINUTES = {"collision": (20, 120), "breakdown": (15, 60), "flooding": (120, 600),
                 "roadwork": (1440, 10080), "congestion": (20, 90), "other": (15, 60)}
DESCRIPTIONS = {
    "collision": "Va chạm giữa xe máy và ô tô trên {}",
    "breakdown": "Xe hỏng chiếm một làn đường trên {}",
    "flooding": "Ngập úng cục bộ sau mưa lớn trên {}",
    "roadwork": "Thi công sửa chữa mặt đường trên {}",
    "congestion": "Ùn tắc kéo dài giờ cao điểm trên {}",
    "other": "Vật cản trên mặt đường {}",
}


def _midpoints(net: Network, idx: np.ndarray, t: np.ndarray | float = 0.5) -> np.ndarray:
    t = np.asarray(t)[..., None] if np.ndim(t) else t
    return net.seg_a[idx] + (net.seg_b[idx] - net.seg_a[idx]) * t


def stations_batch(plan: Plan, net: Network, id_base: int = 0) -> tuple[Batch, np.ndarray, np.ndarray]:
    """One station every sixth arterial block and every twelfth primary block."""
    pick = ((net.seg_cls == 0) & (net.seg_k % 6 == 3)) | ((net.seg_cls == 1) & (net.seg_k % 12 == 6))
    pick &= net.seg_orient < 2
    idx = np.flatnonzero(pick)
    if idx.size == 0:                     # a very small city: its most important segment
        idx = np.array([int(np.argmin(net.seg_cls))])
    ids = id_base + 1 + np.arange(idx.size)
    direction = np.where(net.seg_orient[idx] == 0, "Bắc - Nam", "Đông - Tây")
    names_ = [f"Trạm đếm xe {names.short_street(net.seg_name[s])} số {n + 1}"
              for n, s in enumerate(idx.tolist())]
    rows = list(zip(ids.tolist(), [f"TDX-{i:04d}" for i in range(1, idx.size + 1)], names_,
                    net.seg_id[idx].tolist(), direction.tolist(),
                    ewkb(shapely.points(_midpoints(net, idx)))))
    return Batch("traffic_stations", STATION_COLUMNS, rows), ids, net.seg_cls[idx]


def _day_factor(days: np.ndarray) -> np.ndarray:
    """Traffic of each day against a working day: weekends a little quieter, the Tết
    holiday about half, and a slow growth over the weeks."""
    weekend = np.where(days % 7 >= 5, 0.85, 1.0)
    tet = np.where((days >= TET[0]) & (days < TET[1]), 0.5, 1.0)
    return weekend * tet * (1.0 + 0.002 * days)


def counts_batch(plan: Plan, station_ids: np.ndarray, station_cls: np.ndarray) -> Batch:
    """Hourly counts per station for the eight weeks from COUNTS_FROM."""
    rng = np.random.default_rng([plan.seed, 71])
    hours = np.arange(COUNT_HOURS)
    day = _day_factor(hours // 24)
    shape = PROFILE[hours % 24] * day
    car_shape = np.roll(PROFILE, 1)[hours % 24] * day
    peak = np.where(station_cls == 0, 3200, 1900) * rng.uniform(0.6, 1.3, station_ids.size)
    moto = rng.poisson(np.outer(peak, shape))
    cars = rng.poisson(np.outer(peak * rng.uniform(0.12, 0.2, station_ids.size), car_shape))
    night = np.where((hours % 24 < 5) | (hours % 24 >= 22), 2.5, 1.0)
    trucks = rng.poisson(np.outer(peak * 0.025, night * np.maximum(shape, 0.3)))
    buses = rng.poisson(np.outer(peak * 0.006, np.where(hours % 24 < 5, 0.0, shape)))
    load = np.outer(peak / 4000, shape)
    speed = np.clip(48 - 30 * load + rng.normal(0, 2, load.shape), 8, 60).round(1)
    times = [COUNTS_FROM + dt.timedelta(hours=h) for h in hours.tolist()]
    rows = [(sid, times[h], int(moto[s, h]), int(cars[s, h]), int(trucks[s, h]), int(buses[s, h]),
             float(speed[s, h])) for s, sid in enumerate(station_ids.tolist())
            for h in range(COUNT_HOURS)]
    return Batch("traffic_counts", COUNT_COLUMNS, rows)


def incidents_batch(plan: Plan, net: Network, id_base: int = 0) -> Batch:
    """About one incident for every three blocks, mostly on the busy roads."""
    rng = np.random.default_rng([plan.seed, 72])
    n = max(10, int(round(plan.size / 3)))
    weight = np.array([6.0, 4.0, 2.0, 1.0, 0.3])[net.seg_cls]
    seg = rng.choice(net.seg_id.size, size=n, p=weight / weight.sum())
    minutes = np.sort(rng.integers(0, INCIDENT_DAYS * 1440, n))
    when = [INCIDENTS_FROM + dt.timedelta(minutes=int(m)) for m in minutes.tolist()]
    rainy = np.array([w.month >= 9 for w in when])
    draw = rng.random(n)
    types = TYPES[np.where(rainy, np.searchsorted(np.cumsum(RAINY), draw * RAINY.sum()),
                           np.searchsorted(np.cumsum(DRY), draw * DRY.sum()))]
    severity = np.where(types == "collision", rng.choice([1, 2, 3, 4], n, p=[.45, .35, .15, .05]),
                        rng.choice([1, 2], n, p=[.7, .3]))
    span = np.array([CLEAR_MINUTES[t] for t in types.tolist()])
    cleared = rng.integers(span[:, 0], span[:, 1])
    points = shapely.points(_midpoints(net, seg, rng.uniform(0.1, 0.9, n)))
    ids = id_base + 1 + np.arange(n)
    codes = [f"SC-{w.year}-{i:06d}" for i, w in enumerate(when, start=1)]
    rows = list(zip(ids.tolist(), codes, when,
                    [w + dt.timedelta(minutes=int(c)) for w, c in zip(when, cleared.tolist())],
                    types.tolist(), severity.tolist(),
                    [DESCRIPTIONS[t].format(names.short_street(net.seg_name[s]))
                     for t, s in zip(types.tolist(), seg.tolist())],
                    net.seg_id[seg].tolist(), ewkb(points)))
    return Batch("incidents", INCIDENT_COLUMNS, rows)


def cameras_batch(plan: Plan, net: Network, id_base: int = 0) -> Batch:
    """A traffic camera at every signalised intersection, red-light cameras at half of
    them, speed cameras at some major crossings, and surveillance cameras elsewhere."""
    rng = np.random.default_rng([plan.seed, 73])
    m = net.node_id.size
    draw = rng.random((m, 3))
    wanted = [(net.node_signal, "traffic"), (net.node_signal & (draw[:, 0] < 0.5), "red_light"),
              (net.node_major & (draw[:, 1] < 0.3), "speed"),
              (~net.node_signal & (draw[:, 2] < 0.06), "surveillance")]
    node = np.concatenate([np.flatnonzero(mask) for mask, _ in wanted])
    kind = np.concatenate([np.full(mask.sum(), k, dtype=object) for mask, k in wanted])
    order = np.lexsort((np.arange(node.size), node))
    node, kind = node[order], kind[order]
    if node.size == 0 and m:
        node, kind = np.array([0]), np.array(["surveillance"], dtype=object)
    n = node.size
    angle = np.radians(45 + 90 * rng.integers(0, 4, n))
    offset = rng.uniform(6, 12, n)
    lon = net.node_xy[node, 0] + np.cos(angle) * offset / 107_000
    lat = net.node_xy[node, 1] + np.sin(angle) * offset / 110_574
    status = rng.choice(["online", "offline", "maintenance"], n, p=[.9, .06, .04])
    installed = [dt.date(2018, 1, 1) + dt.timedelta(days=int(d))
                 for d in rng.integers(0, 8 * 365, n).tolist()]
    label = {"traffic": "Camera giao thông", "red_light": "Camera phạt nguội đèn đỏ",
             "speed": "Camera tốc độ", "surveillance": "Camera an ninh"}
    rows = list(zip((id_base + 1 + np.arange(n)).tolist(), [f"CAM-{i:05d}" for i in range(1, n + 1)],
                    [f"{label[k]} {net.node_name[c]}" for k, c in zip(kind.tolist(), node.tolist())],
                    kind.tolist(), status.tolist(), net.node_id[node].tolist(), installed,
                    ewkb(shapely.points(np.stack([lon, lat], 1)))))
    return Batch("cameras", CAMERA_COLUMNS, rows)
