"""Building the shipped base map files from the OSM and DEM extracts (deterministic: the
same inputs give the same features, and the same bytes with the same GDAL).

Layers of the GeoPackage (EPSG:3857, simplified below what z18 can show):
- `landuse`: OSM land use polygons (`kind` = the landuse value), water excluded;
- `water`: OSM natural=water and basins/reservoirs (rivers, lakes, ponds), `kind`;
- `sea`: derived (see `layers.basemap.sea`);
- `wards_2025`, `wards_pre2025`: ward/commune polygons after and before 1 July 2025
  (`osm_id`, `name`, `name_en`); before the reform only old Da Nang's own (the extract
  also holds two Quảng Nam communes far south, left out);
- `ward_labels`: one point in the middle of each ward, `name` (without "Phường"/"Xã"), `period`
  (`2025` or `pre2025`) and `area_km2` (bigger wards are labelled first).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyogrio
import pyogrio.raw
import shapely
from pyproj import Transformer
from shapely.ops import polylabel

from . import VECTOR_LAYERS, hillshade_path, vector_path, vector_source
from .hillshade import write_hillshade
from .sea import derive_sea
from .sources import DEM, LANDUSE, WARDS_2025, WARDS_PRE2025, Ward, read_areas, read_wards

TOLERANCE_M = 0.5            # simplification, Web Mercator units: under a z18 pixel (0.6)
FRAME_MARGIN_DEG = (0.06, 0.06, 0.35, 0.25)   # frame around the old city: W, S, E, N
BUILD_DATE = "2025-07-01T00:00:00Z"     # fixed GeoPackage timestamps (reproducible bytes)
NAME_PREFIXES = ("Phường ", "Xã ", "Thị trấn ")
_TO_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)


def mercator(geom: shapely.Geometry) -> shapely.Geometry:
    """EPSG:4326 -> 3857, simplified to what z18 shows, valid."""
    projected = shapely.transform(geom, lambda xy: np.column_stack(
        _TO_MERCATOR.transform(xy[:, 0], xy[:, 1])))
    return shapely.make_valid(shapely.simplify(projected, TOLERANCE_M))


def short_name(name: str) -> str:
    for prefix in NAME_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def old_city_wards(pre2025: list[Ward], wards_2025: list[Ward]) -> list[Ward]:
    """Pre-reform units inside the reformed wards' bounding box (old Da Nang's own)."""
    box = shapely.box(*shapely.union_all([w.geom for w in wards_2025]).bounds)
    return [w for w in pre2025 if box.contains(w.geom.point_on_surface())]


def _write(path: Path, layer: str, geoms: list, fields: dict[str, list]) -> None:
    names = list(fields)
    arrays = [np.array(values, dtype=object if isinstance(values[0], str) else None)
              for values in fields.values()]
    geometry = np.array(shapely.to_wkb([shapely.force_2d(g) for g in geoms]), dtype=object)
    geometry_type = "Point" if layer == "ward_labels" else "MultiPolygon"
    pyogrio.raw.write(str(path), geometry, arrays, names, layer=layer, driver="GPKG",
                  crs="EPSG:3857", geometry_type=geometry_type, append=path.exists(),
                  promote_to_multi=geometry_type != "Point")


def _ward_fields(wards: list[Ward]) -> dict[str, list]:
    return {"osm_id": [w.osm_id for w in wards], "name": [w.name for w in wards],
            "name_en": [w.name_en for w in wards]}


def label_point(polygonal: shapely.Geometry) -> shapely.Point:
    """Where a ward's name goes: the point of its largest part farthest from its edges
    (a name sits in the middle of the ward, not on a sliver), to 10 m."""
    parts = getattr(polygonal, "geoms", [polygonal])
    largest = max(parts, key=lambda part: part.area)
    return polylabel(largest, tolerance=10.0)


def _labels(wards_2025: list[Ward], pre2025: list[Ward]) -> tuple[list, dict[str, list]]:
    points, names, periods, areas = [], [], [], []
    for period, wards in (("2025", wards_2025), ("pre2025", pre2025)):
        for ward in wards:
            projected = mercator(ward.geom)
            points.append(label_point(projected))
            names.append(short_name(ward.name))
            periods.append(period)
            areas.append(round(projected.area * 0.93 / 1e6, 2))   # cos²(16°): km² on the ground
    return points, {"name": names, "period": periods, "area_km2": areas}


def build_vectors(source: Path, out: Path) -> dict[str, int]:
    """Write the GeoPackage; returns its feature count per layer."""
    wards_2025 = read_wards(source / WARDS_2025)
    pre2025 = old_city_wards(read_wards(source / WARDS_PRE2025), wards_2025)
    land, water = read_areas(source / LANDUSE)
    city = shapely.union_all([w.geom for w in pre2025 + wards_2025])
    west, south, east, north = FRAME_MARGIN_DEG
    frame = tuple(np.add(city.bounds, (-west, -south, east, north)))
    sea = derive_sea(source / DEM, city, [a.geom for a in land], frame)
    labels, label_fields = _labels(wards_2025, pre2025)
    layers = {
        "landuse": ([mercator(a.geom) for a in land], {"kind": [a.kind for a in land]}),
        "water": ([mercator(a.geom) for a in water], {"kind": [a.kind for a in water]}),
        "sea": ([mercator(sea)], {"kind": ["sea"]}),
        "wards_pre2025": ([mercator(w.geom) for w in pre2025], _ward_fields(pre2025)),
        "wards_2025": ([mercator(w.geom) for w in wards_2025], _ward_fields(wards_2025)),
        "ward_labels": (labels, label_fields),
    }
    out.unlink(missing_ok=True)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": BUILD_DATE})
    for name in VECTOR_LAYERS:
        _write(out, name, *layers[name])
    return {name: len(layers[name][0]) for name in VECTOR_LAYERS}


def build_basemap(source: Path, out_dir: Path) -> dict[str, int]:
    """Both shipped files into `out_dir`; returns the feature count per vector layer."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = build_vectors(Path(source), vector_path(out_dir))
    write_hillshade(Path(source) / DEM, hillshade_path(out_dir))
    return counts


def content_digest(directory: Path) -> dict[str, str]:
    """Per file and layer: feature count and a hash of the features (geometry as WKB,
    attributes), independent of the container's own bytes; the hillshade's pixels."""
    import rasterio
    out = {}
    for layer in VECTOR_LAYERS:
        _meta, table = pyogrio.read_arrow(vector_source(directory), layer=layer)
        digest = hashlib.sha256()
        for name in sorted(set(table.column_names) - {"fid"}):
            digest.update(name.encode())
            for value in table[name].to_pylist():
                digest.update(repr(value).encode())
        out[layer] = f"{table.num_rows}:{digest.hexdigest()[:16]}"
    with rasterio.open(hillshade_path(directory), driver="GTiff") as src:
        pixels = src.read(1)
        out["hillshade"] = (f"{src.width}x{src.height}:"
                            + hashlib.sha256(pixels.tobytes()).hexdigest()[:16])
    return out
