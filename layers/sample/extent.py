"""Where the sample city lies: the centre the street grid and the city grow from
(Hải Châu), the box around the centre, the box around the whole city, and the local
metric frame the generator works in. The land itself comes from the base map
(`land.py`)."""
from __future__ import annotations

import math

import numpy as np

CENTRE = (108.212, 16.055)                 # Hải Châu, the city centre
CORE_BBOX = (108.15, 16.0, 108.25, 16.1)   # the city centre (the raw irregular file lies in it)
WIDE_BBOX = (107.8, 15.9, 108.35, 16.22)   # old Da Nang's land: every feature of any scale
M_PER_DEG_X = 111_320.0 * math.cos(math.radians(CENTRE[1]))
M_PER_DEG_Y = 110_574.0


def bbox_for(scale: float) -> tuple[float, float, float, float]:
    """The box every feature of a city of this scale lies in (what the tests check): the
    whole city at every scale, since every ward holds some of it."""
    return WIDE_BBOX


def to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local metres east/north of the centre -> longitude/latitude (an equirectangular
    frame: at city size its error is far below a parcel's width)."""
    return CENTRE[0] + x / M_PER_DEG_X, CENTRE[1] + y / M_PER_DEG_Y


def to_local(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (np.asarray(lon) - CENTRE[0]) * M_PER_DEG_X, (np.asarray(lat) - CENTRE[1]) * M_PER_DEG_Y
