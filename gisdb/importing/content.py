"""What a text dataset must hold before GDAL opens it.

Binary formats are recognised by their magic bytes (`safety`); the text ones are checked
here. A GeoJSON file must be JSON, not a GDAL pipeline (`"type": "gdal_streamed_alg"`,
which GDAL runs), and its `"crs"` members (the 2008 GeoJSON form) may name a CRS but not
point anywhere: a `"link"` CRS, or a name that is a URL or a path, would make GDAL fetch
or read it, so the file is refused with a message saying so. A CSV must be text."""
from __future__ import annotations

import json
import mmap
import re
from pathlib import Path

from ..errors import ImportFailed, UnsafeInput

HEAD_BYTES = 64 * 1024
CRS_WINDOW = 8 * 1024            # a "crs" member is a few dozen bytes; more is refused
_CRS_KEY = re.compile(rb'"crs"\s*:\s*')
# Names GDAL resolves without a network or a file: opengis.net URLs are parsed, not fetched.
_OPENGIS_URL = re.compile(r"^https?://(www\.)?opengis\.net/def/crs/", re.IGNORECASE)
_POINTER = re.compile(r"://|^[/\\.~]|^[a-z]:[\\/]|/vsi", re.IGNORECASE)


def check_text_dataset(path: Path) -> None:
    """Refuse a .geojson/.json/.csv whose content GDAL could be led astray by."""
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json", ".csv") and path.stat().st_size == 0:
        raise ImportFailed(f"{path.name}: the file is empty")
    if suffix in (".geojson", ".json"):
        check_geojson(path)
    elif suffix == ".csv":
        _check_csv(path)


def check_geojson(path: Path) -> None:
    """JSON text, no GDAL pipeline, and only CRS members that name a CRS."""
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    body = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not body.startswith((b"{", b"[")):
        raise UnsafeInput(f"{path.name}: the content is not GeoJSON")
    if b"gdal_streamed_alg" in head:
        raise UnsafeInput(f"{path.name}: the content is a GDAL pipeline (gdal_streamed_alg), "
                          "not GeoJSON: refused")
    for crs in _crs_members(path):
        problem = crs_problem(crs)
        if problem:
            raise UnsafeInput(f"{path.name}: {problem}: refused (GDAL would fetch or read it); "
                              "remove the \"crs\" member or make it a name such as "
                              "urn:ogc:def:crs:EPSG::5899, and pass --srs if needed")


def crs_problem(crs: object) -> str | None:
    """Why a GeoJSON `"crs"` value must not reach GDAL, or None when it only names a CRS."""
    if not isinstance(crs, dict):
        return None
    kind = crs.get("type")
    properties = crs.get("properties") if isinstance(crs.get("properties"), dict) else {}
    if kind == "link":
        return f"its CRS is a link to {str(properties.get('href'))[:200]!r} (remote CRS links are refused)"
    if kind not in ("name", "EPSG", "OGC"):
        return f"its CRS has an unknown type {str(kind)[:50]!r}"
    for value in properties.values():
        if isinstance(value, str) and _POINTER.search(value) and not _OPENGIS_URL.match(value):
            return f"its CRS name {value[:200]!r} is a URL or a path (remote CRS links are refused)"
    return None


def _crs_members(path: Path):
    """Every JSON value that follows a `"crs":` key anywhere in the file (streamed
    through a memory map, so a large file is not read into memory)."""
    if path.stat().st_size == 0:
        return
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        position = data.find(b'"crs"')
        while position != -1:
            window = data[position:position + CRS_WINDOW]
            key = _CRS_KEY.match(window)
            if key:
                yield _decode(window[key.end():], path)
            position = data.find(b'"crs"', position + 5)


def _decode(window: bytes, path: Path) -> object:
    text = window.decode("utf-8", errors="replace")
    if not text.startswith("{"):
        return None                                  # a string or number: names nothing
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except ValueError:
        raise UnsafeInput(f"{path.name}: a \"crs\" member cannot be read (over "
                          f"{CRS_WINDOW} bytes or not JSON): refused") from None
    return value


def _check_csv(path: Path) -> None:
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") or b"\x00" in head:
        raise UnsafeInput(f"{path.name}: the content is not CSV")
