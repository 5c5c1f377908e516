"""Where features lie, in words staff recognise: the nearest large Vietnamese city and
the distance and direction from Da Nang. Used when a file's coordinate system is right
but its features are elsewhere, so the message says where instead of blaming the CRS."""
from __future__ import annotations

import numpy as np
from pyproj import Geod

DA_NANG = (108.22, 16.05)            # lon, lat of the city centre
NEAR_KM = 60
# Centres of large cities (lon, lat), rounded to a hundredth of a degree.
CITIES = (
    ("Hà Nội", 105.85, 21.03), ("Hải Phòng", 106.68, 20.86), ("Vinh", 105.68, 18.67),
    ("Huế", 107.59, 16.46), ("Quảng Ngãi", 108.80, 15.12), ("Quy Nhơn", 109.22, 13.78),
    ("Buôn Ma Thuột", 108.05, 12.67), ("Nha Trang", 109.19, 12.24), ("Đà Lạt", 108.44, 11.94),
    ("Thành phố Hồ Chí Minh", 106.70, 10.78), ("Vũng Tàu", 107.08, 10.35), ("Cần Thơ", 105.78, 10.03),
)
COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")
GEOD = Geod(ellps="WGS84")


def _direction(azimuth: float) -> str:
    return COMPASS[int(((azimuth % 360) + 22.5) // 45) % 8]


def describe_place(lon: np.ndarray, lat: np.ndarray) -> str:
    """'around 106.70 E, 10.78 N, near Thành phố Hồ Chí Minh, 610 km south of Da Nang'
    for the median of the given positions (EPSG:4326)."""
    ok = np.isfinite(lon) & np.isfinite(lat)
    x, y = float(np.median(lon[ok])), float(np.median(lat[ok]))
    azimuth, _, metres = GEOD.inv(DA_NANG[0], DA_NANG[1], x, y)
    where = f"around {abs(x):.2f} {'E' if x >= 0 else 'W'}, {abs(y):.2f} {'N' if y >= 0 else 'S'}"
    nearest = min(CITIES, key=lambda c: GEOD.inv(c[1], c[2], x, y)[2])
    if GEOD.inv(nearest[1], nearest[2], x, y)[2] <= NEAR_KM * 1000:
        where += f", near {nearest[0]}"
    return f"{where}, {metres / 1000:,.0f} km {_direction(azimuth)} of Da Nang"
