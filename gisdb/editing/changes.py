"""A write's input, checked at the boundary: a GeoJSON feature (create, replace) or a
JSON Merge Patch (update, RFC 7396) becomes a `Change`: the properties as JSON scalars
(NFC text), the geometry as 2D WKB in the request's CRS axis order x/y, flags the
importer's validation reads (unreadable, ring closed, Z/M dropped). Unknown properties,
non-scalar values and a body id that contradicts the URL are refused here (400)."""
from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field

import shapely
from shapely.geometry import shape

from ..crs import Crs
from ..errors import InvalidFeature
from ..importing.sources import RING_CLOSED, UNREADABLE, ZM_DROPPED

OPS = ("create", "replace", "update", "delete")
GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")


@dataclass(frozen=True)
class Change:
    """One feature's change. `wkb` None with `keep_geometry` (an update that leaves the
    geometry alone); `expected` is the version the client read (None: any, `If-Match: *`)."""

    op: str
    feature_id: int | None = None
    properties: dict = field(default_factory=dict)
    wkb: bytes | None = None
    flag: int = 0
    keep_geometry: bool = False
    expected: str | None = None
    index: int = 0


def _scalar(name: str, value, index: int):
    """A property value as the database will read it: a JSON scalar, text in NFC."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise InvalidFeature(f"property {name!r} must be a string, number, boolean or null",
                         field=name, rule="wrong_type", action=index)


def _properties(body: dict, columns: tuple[str, ...], index: int) -> dict:
    props = body.get("properties")
    if props is None:
        return {}
    if not isinstance(props, dict):
        raise InvalidFeature("properties must be a JSON object", field="properties",
                             rule="wrong_type", action=index)
    for name in props:
        if name not in columns:
            raise InvalidFeature(f"unknown property {str(name)[:60]!r}; the layer's writable "
                                 f"properties are {', '.join(columns)}", field=str(name)[:60],
                                 rule="unknown_property", action=index)
    return {name: _scalar(name, value, index) for name, value in props.items()}


def _unclosed(value: dict) -> bool:
    """True when a polygon ring of the GeoJSON does not end where it starts."""
    coords = value.get("coordinates")
    polygons = [coords] if value.get("type") == "Polygon" else coords
    if value.get("type") not in ("Polygon", "MultiPolygon") or not isinstance(polygons, list):
        return False
    rings = [r for p in polygons if isinstance(p, list) for r in p if isinstance(r, list) and r]
    return any(r[0] != r[-1] for r in rings)


def geometry_wkb(value, crs: Crs) -> tuple[bytes | None, int]:
    """(WKB, flags) of a GeoJSON geometry given in `crs` (x/y order after this), or
    (None, UNREADABLE) when it cannot be read; None stays None (no geometry)."""
    if value is None:
        return None, 0
    if not isinstance(value, dict) or value.get("type") not in GEOMETRY_TYPES:
        return None, UNREADABLE
    try:
        geom = shape(value)
        flag = RING_CLOSED if _unclosed(value) else 0
        if shapely.has_z(geom):
            geom, flag = shapely.force_2d(geom), flag | ZM_DROPPED
        if crs.lat_first:
            geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
        bounds = geom.bounds
    except Exception:           # shapely raises many kinds on malformed coordinates
        return None, UNREADABLE
    if not geom.is_empty and not all(math.isfinite(b) for b in bounds):
        return None, UNREADABLE
    return shapely.to_wkb(geom, flavor="iso"), flag


def _check_id(body: dict, feature_id: int | None, index: int) -> None:
    given = body.get("id")
    if given is None or feature_id is None:
        return
    if str(given) != str(feature_id):
        raise InvalidFeature(f"the feature's id {str(given)[:40]!r} is not the id of the URL "
                             f"({feature_id})", field="id", rule="id_mismatch", action=index)


def parse_change(op: str, body, *, columns: tuple[str, ...], crs: Crs, feature_id: int | None = None,
                 expected: str | None = None, index: int = 0) -> Change:
    """The `Change` of a request body (a Feature for create/replace, a merge patch for
    update, nothing for delete); InvalidFeature (400) for what is malformed."""
    if op == "delete":
        return Change(op, feature_id, expected=expected, index=index)
    if not isinstance(body, dict):
        raise InvalidFeature("the body must be a JSON object (a GeoJSON Feature or a merge patch)",
                             rule="not_a_feature", action=index)
    if op != "update" and body.get("type") != "Feature":
        raise InvalidFeature('the body must be a GeoJSON Feature ("type": "Feature")',
                             field="type", rule="not_a_feature", action=index)
    _check_id(body, feature_id, index)
    props = _properties(body, columns, index)
    keep = op == "update" and "geometry" not in body
    wkb, flag = geometry_wkb(body.get("geometry"), crs)
    return Change(op, feature_id, props, wkb, flag, keep, expected, index)
