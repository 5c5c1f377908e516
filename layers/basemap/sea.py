"""The sea, derived: the OpenStreetMap extracts carry no coastline, so the land/sea line
comes from the city's own boundary where the city meets the sea (Da Nang's coastal ward
boundaries follow the shore) and from the Copernicus DEM elsewhere (sea = at or below
0 m, not in the city, not under an OSM land use).

The DEM covers the city's centre only (108.08-108.32 E, 15.87-16.12 N). Beyond it the
sea candidates are, from the geography: north of the DEM and east of a line from the Hải
Vân pass (108.13 E, 16.19 N) north-west past Lăng Cô's shore (west of it lies Thừa
Thiên Huế), and east of the DEM beyond a line from 108.32 E, 15.93 N south-east along
Điện Bàn's and Hội An's shore; the rest is land. The city and the OSM land use are
land everywhere. So the line is exact on the city's coast and approximate (a few km) only
at the frame's corners. Only the part connected to the open sea (`SEA_SEEDS`) is kept,
so low-lying paddies and ponds inland never turn into sea.
"""
from __future__ import annotations

import numpy as np
import rasterio
import shapely
from rasterio import features
from rasterio.transform import Affine

# points surely at sea: Da Nang bay, and the East Sea off Sơn Trà and off the beaches
SEA_SEEDS = ((108.20, 16.13), (108.36, 16.08), (108.30, 15.99))
SHORE_OVERLAP_PX = 2          # sea grown by this before the city is cut out of it
HAI_VAN_PASS = (108.13, 16.19)
LANG_CO_SHORE_SLOPE = 0.6     # degrees of longitude west per degree of latitude north
DIEN_BAN_SHORE = (108.32, 15.93)
HOI_AN_SHORE_SLOPE = 1.0      # degrees of longitude east per degree of latitude south


def frame_grid(frame: tuple[float, float, float, float], dem_transform: Affine):
    """(transform, (rows, cols)) of a grid with the DEM's pixel size and alignment that
    covers `frame` (west, south, east, north)."""
    res_x, res_y = dem_transform.a, -dem_transform.e
    col0 = int(np.floor((frame[0] - dem_transform.c) / res_x))
    row0 = int(np.floor((dem_transform.f - frame[3]) / res_y))
    col1 = int(np.ceil((frame[2] - dem_transform.c) / res_x))
    row1 = int(np.ceil((dem_transform.f - frame[1]) / res_y))
    transform = dem_transform @ Affine.translation(col0, row0)
    return transform, (row1 - row0, col1 - col0), (row0, col0)


def low_ground(dem: np.ndarray, transform: Affine, shape: tuple[int, int],
               offset: tuple[int, int]) -> np.ndarray:
    """Sea candidates on the frame's grid: the DEM at or below 0 m where it exists, the
    open-sea sides described above beyond it."""
    rows = np.arange(shape[0])[:, None] + offset[0]
    cols = np.arange(shape[1])[None, :] + offset[1]
    inside = (rows >= 0) & (rows < dem.shape[0]) & (cols >= 0) & (cols < dem.shape[1])
    values = dem[np.clip(rows, 0, dem.shape[0] - 1), np.clip(cols, 0, dem.shape[1] - 1)]
    lon = transform.c + (np.arange(shape[1])[None, :] + 0.5) * transform.a
    lat = transform.f + (np.arange(shape[0])[:, None] + 0.5) * transform.e
    shore = HAI_VAN_PASS[0] - np.maximum(lat - HAI_VAN_PASS[1], 0) * LANG_CO_SHORE_SLOPE
    north = (rows < 0) & (lon > shore)
    south_shore = DIEN_BAN_SHORE[0] + np.maximum(DIEN_BAN_SHORE[1] - lat, 0) * HOI_AN_SHORE_SLOPE
    east = (cols >= dem.shape[1]) & (lon > south_shore)
    return np.where(inside, values <= 0, north | east)


def derive_sea(dem_path, city: shapely.Geometry, land_use: list[shapely.Geometry],
               frame: tuple[float, float, float, float]) -> shapely.Geometry:
    """The sea inside `frame` (EPSG:4326), its shore on the city boundary where they meet."""
    with rasterio.open(dem_path, driver="GTiff") as src:
        dem, dem_transform = src.read(1), src.transform
    transform, shape, offset = frame_grid(frame, dem_transform)
    low = low_ground(dem, transform, shape, offset)
    land = features.rasterize([city, *land_use], out_shape=shape, transform=transform) == 1
    candidate = (low & ~land).astype(np.uint8)
    pieces = [shapely.geometry.shape(geom) for geom, value in
              features.shapes(candidate, mask=candidate == 1, transform=transform) if value == 1]
    seeds = [shapely.Point(p) for p in SEA_SEEDS]
    open_sea = shapely.union_all([p for p in pieces if any(p.intersects(s) for s in seeds)])
    grown = open_sea.buffer(SHORE_OVERLAP_PX * dem_transform.a, join_style="mitre")
    grown = shapely.make_valid(shapely.simplify(grown, dem_transform.a / 2))
    return grown.intersection(shapely.box(*frame)).difference(city)
