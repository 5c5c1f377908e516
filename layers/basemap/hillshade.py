"""Hillshade of the Copernicus DEM in Web Mercator, for the base map to multiply over
its land: 255 where the ground is flat (no change), darker on slopes facing away from
the light (north-west, 45° up, as maps are usually lit). Lit slopes stay 255, so the
shading only ever darkens and the sea and the plains keep their colours. The Copernicus
DEM is a surface model (buildings and trees show as bumps), so it is smoothed over 3x3
pixels and the faintest shading dropped: the relief stays, the towns' speckle goes.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import from_origin
from rasterio.warp import Resampling, reproject, transform_bounds

WEB_MERCATOR = CRS.from_epsg(3857)
AZIMUTH_DEG, ALTITUDE_DEG = 315.0, 45.0
EXAGGERATION = 1.5
PIXEL_M = 30.0                 # Web Mercator units per pixel (~29 m on the ground here)
FLAT_ABOVE = 0.9               # lit fraction counted as flat: hides the DSM's town texture


def dem_in_web_mercator(dem_path: Path) -> tuple[np.ndarray, rasterio.Affine, float]:
    """(heights, transform, latitude of the centre) on a Web Mercator grid."""
    with rasterio.open(dem_path, driver="GTiff") as src:
        west, south, east, north = transform_bounds(src.crs, WEB_MERCATOR, *src.bounds)
        cols = int(round((east - west) / PIXEL_M))
        rows = int(round((north - south) / PIXEL_M))
        transform = from_origin(west, north, PIXEL_M, PIXEL_M)
        heights = np.zeros((rows, cols), dtype=np.float32)
        reproject(rasterio.band(src, 1), heights, dst_transform=transform, dst_crs=WEB_MERCATOR,
                  resampling=Resampling.bilinear, src_nodata=src.nodata, dst_nodata=0)
        latitude = (src.bounds.bottom + src.bounds.top) / 2
    return heights, transform, latitude


def smooth(values: np.ndarray) -> np.ndarray:
    """3x3 mean, edges repeated."""
    padded = np.pad(values, 1, mode="edge")
    rows, cols = values.shape
    return sum(padded[i:i + rows, j:j + cols] for i in range(3) for j in range(3)) / 9.0


def shade(heights: np.ndarray, ground_pixel_m: float) -> np.ndarray:
    """uint8 shading: the lit fraction of each cell relative to flat ground, capped at 1."""
    z = np.pad(smooth(heights.astype(np.float64)) * EXAGGERATION, 1, mode="edge")
    # Horn's 3x3 gradients; rows run south, so north is minus the row gradient
    east = ((z[:-2, 2:] + 2 * z[1:-1, 2:] + z[2:, 2:]) - (z[:-2, :-2] + 2 * z[1:-1, :-2] + z[2:, :-2]))
    south = ((z[2:, :-2] + 2 * z[2:, 1:-1] + z[2:, 2:]) - (z[:-2, :-2] + 2 * z[:-2, 1:-1] + z[:-2, 2:]))
    dz_dx, dz_dy = east / (8 * ground_pixel_m), -south / (8 * ground_pixel_m)
    az, alt = math.radians(AZIMUTH_DEG), math.radians(ALTITUDE_DEG)
    light = (math.cos(alt) * math.sin(az), math.cos(alt) * math.cos(az), math.sin(alt))
    lit = (-dz_dx * light[0] - dz_dy * light[1] + light[2]) / np.sqrt(dz_dx ** 2 + dz_dy ** 2 + 1)
    relative = np.clip(lit / light[2] / FLAT_ABOVE, 0.0, 1.0)
    return np.round(relative * 255).astype(np.uint8)


def write_hillshade(dem_path: Path, out: Path) -> None:
    """The shipped hillshade GeoTIFF (EPSG:3857, one byte band, tiled, DEFLATE)."""
    heights, transform, latitude = dem_in_web_mercator(dem_path)
    data = shade(heights, PIXEL_M * math.cos(math.radians(latitude)))
    profile = dict(width=data.shape[1], height=data.shape[0], count=1,
                   dtype="uint8", crs=WEB_MERCATOR, transform=transform, tiled=True,
                   blockxsize=256, blockysize=256, compress="deflate", predictor=2)
    with rasterio.open(out, "w", driver="GTiff", **profile) as dst:
        dst.write(data, 1)
