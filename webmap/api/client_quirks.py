"""Requests from clients known to misread a standard document, recognised by their headers.

GDAL before 3.7 (Debian 12's `ogrinfo`/`gdalinfo` are 3.6) sends no User-Agent and asks for
`application/geo+json, application/json`. Its OGCAPI driver, in its default API=AUTO mode,
opens a collection through its `tilesets-*` links whenever it finds them and, when it cannot
read those tiles, fails instead of falling back to the `items` link. Such a client is
therefore given the collection without its tileset links, so that it reads features
(issue 15); GDAL 3.7+ announces itself as `GDAL/x.y.z` and gets the whole document."""
from __future__ import annotations

LEGACY_GDAL_ACCEPT = "application/geo+json, application/json"


def legacy_gdal(user_agent: str | None, accept: str | None) -> bool:
    """True for a request shaped like GDAL < 3.7's OGCAPI driver: no User-Agent, its Accept."""
    return not user_agent and (accept or "").strip() == LEGACY_GDAL_ACCEPT
