"""Where the sample city may lie: Da Nang's land (a coarse coastline drawn a little
inland, so nothing falls into the sea), the Hàn river (kept free of blocks), the core
and wide bounding boxes, and the local metric frame the generator works in."""
from __future__ import annotations

import math

import numpy as np
import shapely

CENTRE = (108.212, 16.055)                 # Hải Châu, the city centre
CORE_BBOX = (108.15, 16.0, 108.25, 16.1)   # default scale stays inside this
WIDE_BBOX = (107.9, 15.9, 108.35, 16.2)    # large scales stay inside this
M_PER_DEG_X = 111_320.0 * math.cos(math.radians(CENTRE[1]))
M_PER_DEG_Y = 110_574.0

# Mainland Da Nang and the Sơn Trà peninsula (lon, lat), clockwise from the south-west.
_COAST = (
    (107.90, 15.90), (107.90, 16.20), (108.13, 16.20), (108.150, 16.180), (108.135, 16.160),
    (108.125, 16.140), (108.125, 16.120), (108.135, 16.105), (108.150, 16.092),
    (108.165, 16.082), (108.180, 16.076), (108.200, 16.074), (108.215, 16.079),
    (108.222, 16.090), (108.230, 16.094), (108.240, 16.100), (108.250, 16.113),
    (108.265, 16.124), (108.280, 16.138), (108.300, 16.144), (108.320, 16.139),
    (108.333, 16.125), (108.320, 16.110), (108.290, 16.104), (108.268, 16.098),
    (108.254, 16.088), (108.249, 16.075), (108.247, 16.060), (108.248, 16.040),
    (108.252, 16.030), (108.258, 16.020), (108.265, 16.010), (108.272, 16.000),
    (108.280, 15.988), (108.290, 15.970), (108.305, 15.945), (108.320, 15.922),
    (108.332, 15.900),
)
# The Hàn river from its mouth, south past the bridges, then west as the Cẩm Lệ river.
_RIVER = (
    (108.2245, 16.100), (108.2265, 16.085), (108.2255, 16.074), (108.2270, 16.061),
    (108.2290, 16.048), (108.2280, 16.035), (108.2220, 16.020), (108.2100, 16.012),
    (108.1950, 16.005), (108.1750, 15.997), (108.1500, 15.990), (108.1200, 15.985),
)
LAND = shapely.Polygon(_COAST).buffer(-0.0015, join_style="mitre")   # ~150 m inland
RIVER = shapely.LineString(_RIVER).buffer(0.0014, cap_style="flat")
shapely.prepare(LAND)
shapely.prepare(RIVER)


def bbox_for(scale: float) -> tuple[float, float, float, float]:
    """The box every feature of a city of this scale lies in (what the tests check):
    the core box for small cities, the wide box otherwise."""
    return CORE_BBOX if scale <= 2 else WIDE_BBOX


def to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local metres east/north of the centre -> longitude/latitude (an equirectangular
    frame: at city size its error is far below a parcel's width)."""
    return CENTRE[0] + x / M_PER_DEG_X, CENTRE[1] + y / M_PER_DEG_Y


def to_local(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (np.asarray(lon) - CENTRE[0]) * M_PER_DEG_X, (np.asarray(lat) - CENTRE[1]) * M_PER_DEG_Y
