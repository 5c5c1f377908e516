"""The offline base map of the real Da Nang shipped with the project: where its files are,
what they hold, and the attribution their licences require.

The files beside this module are derived from OpenStreetMap (ODbL 1.0) and the Copernicus
DEM GLO-30 by `scripts/build_basemap.py` (see `layers.basemap.build`); ATTRIBUTION.md says
where they came from. `tiles` draws the base map tiles from them directly, so the base map
needs no database and no network.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

BASEMAP_DIR = Path(__file__).resolve().parent
VECTOR_FILE = "danang_base.gpkg"
HILLSHADE_FILE = "danang_hillshade.tif"
# GeoPackage layers, bottom to top (all EPSG:3857)
VECTOR_LAYERS = ("landuse", "water", "sea", "wards_pre2025", "wards_2025", "ward_labels")
OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"
DEM_ATTRIBUTION = ("Copernicus DEM GLO-30 © DLR e.V. 2010-2014 and © Airbus Defence and "
                   "Space GmbH 2014-2018, provided under COPERNICUS by the European Union and ESA")
ATTRIBUTION = f"{OSM_ATTRIBUTION}, {DEM_ATTRIBUTION}"


def vector_path(directory: Path = BASEMAP_DIR) -> Path:
    return Path(directory) / VECTOR_FILE


def vector_source(directory: Path = BASEMAP_DIR) -> str:
    """The GeoPackage as GDAL opens it: with its driver named (`GPKG:`), never sniffed."""
    return "GPKG:" + str(vector_path(directory))


def hillshade_path(directory: Path = BASEMAP_DIR) -> Path:
    return Path(directory) / HILLSHADE_FILE


@lru_cache(maxsize=4)
def files_digest(directory: Path = BASEMAP_DIR) -> str:
    """A short hash of the shipped files: part of the base tiles' cache key and ETag, so a
    rebuilt base map is never served from tiles drawn with the old one."""
    digest = hashlib.sha256()
    for path in (vector_path(directory), hillshade_path(directory)):
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.exists() else b"missing")
    return digest.hexdigest()[:16]
