"""The real Da Nang the sample city is laid on, read from the base map files shipped in
`layers/basemap/` (never from the raw extracts, so a fresh clone works offline): the
ward and commune boundaries before and after 1 July 2025, and the land the generator may
build on: where both periods have a ward, less the rivers, lakes, ponds and the sea."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyogrio.raw
import shapely
from pyproj import Transformer

from layers.basemap import vector_source

from .wards import NEW_WARDS, OLD_WARDS, relation

_TO_LONLAT = Transformer.from_crs(3857, 4326, always_xy=True)


@dataclass(frozen=True)
class RealWard:
    """One ward or commune: its code, OSM name and boundary (lon/lat)."""

    code: str
    name: str
    district: str | None         # pre-reform district code; None after the reform
    geom: shapely.Geometry


@dataclass(frozen=True)
class RealCity:
    old_wards: tuple[RealWard, ...]     # valid until 30 June 2025
    new_wards: tuple[RealWard, ...]     # valid from 1 July 2025
    land: shapely.Geometry              # where features may lie (lon/lat, prepared)


def _lonlat(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.make_valid(shapely.transform(geom, lambda xy: np.column_stack(
        _TO_LONLAT.transform(xy[:, 0], xy[:, 1]))))


# Below this area (square degrees: about 1 m² at Da Nang's latitude) a part or a hole of
# an overlay result is a sliver where two boundaries almost meet, not land: such rings are
# a few millimetres across, and a survey-grade round trip (VN-2000 and back) collapses
# them into invalid rings that an import would have to repair.
SLIVER_DEG2 = 1e-10


def polygons(geom: shapely.Geometry) -> shapely.MultiPolygon:
    """The polygonal parts of an overlay result (slivers of lines and points dropped, and
    parts and holes smaller than about a square metre)."""
    parts = shapely.get_parts(shapely.make_valid(geom))
    polys = [q for p in parts for q in shapely.get_parts(p)
             if q.geom_type == "Polygon" and q.area >= SLIVER_DEG2]
    return shapely.MultiPolygon([_without_sliver_holes(q) for q in polys])


def _without_sliver_holes(poly: shapely.Polygon) -> shapely.Polygon:
    holes = [ring for ring in poly.interiors if shapely.Polygon(ring).area >= SLIVER_DEG2]
    if len(holes) == len(poly.interiors):
        return poly
    return shapely.Polygon(poly.exterior, holes)


def _read(layer: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(fields by name, geometries) of one base map layer (GDAL's raw reader: no pandas)."""
    meta, _fids, wkb, values = pyogrio.raw.read(vector_source(), layer=layer)
    return dict(zip(meta["fields"], values)), shapely.from_wkb(wkb)


def _wards(layer: str, codes: dict, old: bool) -> tuple[RealWard, ...]:
    fields, geoms = _read(layer)
    wards = []
    for osm_id, name, geom in zip(fields["osm_id"], fields["name"], geoms):
        entry = codes.get(relation(osm_id))
        if entry is None:
            continue
        code, district = entry if old else (entry, None)
        wards.append(RealWard(code, name, district, _lonlat(geom)))
    return tuple(sorted(wards, key=lambda w: w.code))


@lru_cache(maxsize=1)
def real_city() -> RealCity:
    """The wards of both periods and the land polygon (read once per process)."""
    old = _wards("wards_pre2025", OLD_WARDS, True)
    new = _wards("wards_2025", NEW_WARDS, False)
    wet = shapely.union_all([_lonlat(g) for layer in ("water", "sea") for g in _read(layer)[1]])
    both = shapely.intersection(shapely.union_all([w.geom for w in old]),
                                shapely.union_all([w.geom for w in new]))
    land = polygons(shapely.difference(both, wet))
    shapely.prepare(land)
    return RealCity(old, new, land)


def land_polygon() -> shapely.Geometry:
    """Da Nang's land that holds the sample's parcels, buildings and roads (lon/lat)."""
    return real_city().land
