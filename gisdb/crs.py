"""The coordinate reference systems the feature service speaks (OGC API - Features
Part 2): their URIs, SRIDs and axis order. Storage is always EPSG:4326 (lon/lat in
PostGIS); EPSG:4326 and EPSG:4756 are latitude-first by their EPSG definition, so
coordinates in those are flipped on output and on input."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidParameter

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/"


@dataclass(frozen=True)
class Crs:
    uri: str
    srid: int
    lat_first: bool       # axis order of the CRS definition is (lat, lon)
    decimals: int         # digits kept in GeoJSON output (about a centimetre)
    title: str


SUPPORTED: tuple[Crs, ...] = (
    Crs(CRS84, 4326, False, 7, "WGS 84 (longitude, latitude)"),
    Crs(EPSG_URI + "4326", 4326, True, 7, "WGS 84 (latitude, longitude)"),
    Crs(EPSG_URI + "3857", 3857, False, 2, "WGS 84 / Pseudo-Mercator"),
    Crs(EPSG_URI + "4756", 4756, True, 7, "VN-2000 (latitude, longitude)"),
    Crs(EPSG_URI + "5899", 5899, False, 2, "VN-2000 / TM-3 107-45 (Da Nang)"),
)
_BY_URI = {c.uri: c for c in SUPPORTED}
DEFAULT = SUPPORTED[0]
_CURIE = re.compile(r"^\[?(EPSG|OGC):(?:[0-9.]+:)?([A-Za-z0-9]+)\]?$", re.IGNORECASE)


def crs_from_uri(value: str | None, *, name: str = "crs") -> Crs:
    """The supported CRS named by an OGC URI (or a CURIE such as `EPSG:5899` or
    `[EPSG:5899]`); InvalidParameter otherwise. None means CRS84."""
    if value is None or value == "":
        return DEFAULT
    value = value.strip()
    if value in _BY_URI:
        return _BY_URI[value]
    if value.startswith("https://") and value.replace("https://", "http://", 1) in _BY_URI:
        return _BY_URI[value.replace("https://", "http://", 1)]
    match = _CURIE.match(value)
    if match:
        authority, code = match.group(1).upper(), match.group(2).upper()
        uri = CRS84 if (authority, code) == ("OGC", "CRS84") else EPSG_URI + code
        if authority == "EPSG" or uri == CRS84:
            if uri in _BY_URI:
                return _BY_URI[uri]
    raise InvalidParameter(
        f"{name}: unsupported coordinate reference system {value[:80]!r}; supported: "
        + ", ".join(c.uri for c in SUPPORTED))
