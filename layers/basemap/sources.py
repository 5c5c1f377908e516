"""Reading the OpenStreetMap and DEM extracts the base map is built from
(`../shared/realdata/`, described in its README), into shapely geometries in EPSG:4326.

These are the project's own build inputs, read by the build script, never user uploads.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import shapely

WARDS_2025 = "osm_danang_wards_2025.geojson"
WARDS_PRE2025 = "osm_danang_wards_pre2025.geojson"
LANDUSE = "osm_landuse_danang.geojson"
DEM = "copernicus_dem_danang.tif"
SOURCE_FILES = (WARDS_2025, WARDS_PRE2025, LANDUSE, DEM)
# land use values drawn as water (with natural=water)
WATER_LANDUSE = {"basin", "reservoir"}


@dataclass(frozen=True)
class Ward:
    osm_id: str
    name: str
    name_en: str
    geom: shapely.Geometry          # Polygon or MultiPolygon, EPSG:4326


@dataclass(frozen=True)
class Area:
    kind: str                       # land use value, or "water" / "aquaculture"
    geom: shapely.Geometry


def missing_sources(source: Path) -> list[str]:
    return [name for name in SOURCE_FILES if not (Path(source) / name).is_file()]


def _features(path: Path) -> list[dict]:
    return json.loads(Path(path).read_text(encoding="utf-8"))["features"]


def _polygonal(geometry: dict) -> shapely.Geometry | None:
    geom = shapely.geometry.shape(geometry)
    if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        return None
    return shapely.make_valid(geom) if not geom.is_valid else geom


def read_wards(path: Path) -> list[Ward]:
    """The ward/commune polygons of an OSM boundary extract (label nodes skipped), by id."""
    wards = []
    for feature in _features(path):
        geom = _polygonal(feature["geometry"])
        props = feature["properties"]
        if geom is None or not props.get("name"):
            continue
        name = props.get("name:vi") or props["name"]
        wards.append(Ward(props["@id"], name, props.get("name:en") or name, geom))
    return sorted(wards, key=lambda w: w.osm_id)


def read_areas(path: Path) -> tuple[list[Area], list[Area]]:
    """(land use areas, water areas) of the OSM land use extract, in file order."""
    land, water = [], []
    for feature in _features(path):
        geom = _polygonal(feature["geometry"])
        if geom is None:
            continue
        props = feature["properties"]
        landuse, natural = props.get("landuse"), props.get("natural")
        if natural == "water" or landuse in WATER_LANDUSE:
            water.append(Area("aquaculture" if landuse == "aquaculture" else "water", geom))
        elif landuse:
            land.append(Area(landuse, geom))
    return land, water
