"""The whole sample city as a stream of row batches, in foreign-key order: admin units,
zoning, roads, intersections, stations and their counts, incidents, cameras, projects,
then parcels, buildings and permits a chunk of map sheets at a time (memory stays flat
whatever the scale). The same (scale, seed) always gives the same rows."""
from __future__ import annotations

from typing import Iterator, Mapping

import numpy as np

from .admin import admin_batch, assign_units, zoning_batch
from .construction import buildings_and_permits, projects_batch
from .network import build_network
from .parcels import build_parcels
from .planted import Planted
from .rows import Batch
from .streets import Plan, plan_city
from .traffic import cameras_batch, counts_batch, incidents_batch, stations_batch

CHUNK_CELLS = 400
FEATURES_PER_CELL = 63          # for progress estimates only


def chunks(plan: Plan) -> list[np.ndarray]:
    """Cell indices per chunk: about CHUNK_CELLS cells, never splitting a sheet tile."""
    tile = np.stack([plan.ci // 2, plan.cj // 3], axis=1)
    starts = np.flatnonzero(np.concatenate([[True], (tile[1:] != tile[:-1]).any(axis=1)]))
    bounds, last = [0], 0
    for s in starts.tolist()[1:]:
        if s - last >= CHUNK_CELLS:
            bounds.append(s)
            last = s
    bounds.append(plan.size)
    return [np.arange(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def estimate(scale: float) -> int:
    from .streets import CELLS_PER_SCALE, MIN_CELLS
    return max(MIN_CELLS, round(CELLS_PER_SCALE * scale)) * FEATURES_PER_CELL


def generate(scale: float = 1, seed: int = 1, id_base: Mapping[str, int] | None = None,
             planted: Planted | None = None) -> Iterator[Batch]:
    """Yield the city's batches; ids start after `id_base[layer]` (default 0). The
    deliberate irregularities are recorded in `planted` when given."""
    base = dict(id_base or {})
    plan = plan_city(scale, seed)
    units = assign_units(plan)
    yield admin_batch(plan, units, base.get("admin_units", 0))
    yield zoning_batch(plan, base.get("zoning", 0))
    net = build_network(plan, base.get("roads", 0), base.get("intersections", 0))
    yield Batch("roads", ROAD_COLUMNS, net.road_rows)
    yield Batch("intersections", NODE_COLUMNS, net.node_rows)
    stations, station_ids, station_cls = stations_batch(plan, net, base.get("traffic_stations", 0))
    yield stations
    yield counts_batch(plan, station_ids, station_cls)
    yield incidents_batch(plan, net, base.get("incidents", 0))
    yield cameras_batch(plan, net, base.get("cameras", 0))
    yield projects_batch(plan, scale, base.get("projects", 0), planted)
    codes = [u[0] for u in units["new"]]
    ward_names = [u[1] for u in units["new"]]
    by_code = dict(zip(codes, ward_names))
    next_id = {k: base.get(k, 0) for k in ("parcels", "buildings", "permits")}
    for n, cells in enumerate(chunks(plan)):
        parcels = build_parcels(plan, cells, n, next_id["parcels"], codes, ward_names)
        buildings, permits = buildings_and_permits(plan, parcels, n, next_id["buildings"],
                                                   next_id["permits"], by_code, planted)
        for batch in (parcels.batch, buildings, permits):
            next_id[batch.table] += len(batch.rows)
            yield batch


ROAD_COLUMNS = ("id", "segment_code", "name", "road_class", "lanes", "width_m", "surface",
                "oneway", "max_speed_kmh", "geom")
NODE_COLUMNS = ("id", "node_code", "name", "signalised", "legs", "geom")


def planted_irregularities(scale: float = 1, seed: int = 1,
                           id_base: Mapping[str, int] | None = None) -> set[tuple[str, int]]:
    """Every (rule id, feature id) the city of (scale, seed) breaks on purpose: what the
    planning checks must find over it, and nothing else (generates the whole city)."""
    planted = Planted()
    for _batch in generate(scale, seed, id_base, planted):
        pass
    return planted.pairs()
