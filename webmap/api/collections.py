"""`/collections`, `/collections/{id}` and `/collections/{id}/queryables`.

Spatial extent (`layers.extent`): estimated (instant on any size), exact only on small
tables; both cached per data version."""
from __future__ import annotations

import sqlalchemy as sa

from gisdb.crs import SUPPORTED
from gisdb.engine import db_errors
from layers.extent import Extent, layer_extent
from layers.layer import GROUPS, Layer
from layers.registry import get_layer, visible_layers

from ..caching import make_tag
from .links import link, self_and_alternate
from .params import only_known, output_format
from .response import GEOJSON, HTML, JSON, SCHEMA_JSON, ApiResponse
from .table_state import table_state

OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0/"
_EXTENTS: dict[tuple[str, int], dict] = {}
JSON_TYPES = {sa.Integer: ("integer", None), sa.Numeric: ("number", None),
              sa.Float: ("number", None), sa.Boolean: ("boolean", None),
              sa.DateTime: ("string", "date-time"), sa.Date: ("string", "date"),
              sa.String: ("string", None)}
GEOMETRY_SCHEMAS = {"Point": "https://geojson.org/schema/Point.json",
                    "MultiPolygon": "https://geojson.org/schema/MultiPolygon.json",
                    "MultiLineString": "https://geojson.org/schema/MultiLineString.json"}


def _spatial_extent(conn, layer: Layer, small: bool) -> Extent | None:
    """Exact extent of small tables; the estimate of big ones (exact only when there is
    no estimate)."""
    box = None if small else layer_extent(conn, layer, estimated=True)
    if box is None:
        box = layer_extent(conn, layer, estimated=False)
    return box


def _extent(conn, layer: Layer, small: bool) -> dict:
    """The collection's spatial extent, and its temporal extent from min/max of the
    time field."""
    box = _spatial_extent(conn, layer, small)
    extent: dict = {}
    if box is not None:
        extent["spatial"] = {"bbox": [[round(float(v), 7) for v in box]],
                             "crs": SUPPORTED[0].uri}
    if layer.time_field:
        col = layer.column(layer.time_field)
        low, high = conn.execute(sa.select(sa.func.min(col), sa.func.max(col))).one()
        if low is not None:
            extent["temporal"] = {"interval": [[_iso(low), _iso(high)]],
                                  "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return extent


def _iso(value) -> str:
    text = value.isoformat()
    return text if "T" in text else text + "T00:00:00Z"


def _extent_cached(conn, layer: Layer) -> dict:
    state = table_state(conn, layer)
    key = (layer.id, state.version)
    if key not in _EXTENTS:
        if len(_EXTENTS) > 256:
            _EXTENTS.clear()
        _EXTENTS[key] = _extent(conn, layer, state.small)
    return _EXTENTS[key]


def collection_doc(layer: Layer, base: str, extent: dict, fmt: str, *,
                   tile_links: bool = True) -> dict:
    """A collection's document; `tile_links=False` leaves out its tileset links (see
    `client_quirks`: GDAL < 3.7 would follow them instead of reading the features)."""
    url = f"{base}/collections/{layer.id}"
    tiles = [
        link(f"{url}/tiles", OGC_REL + "tilesets-vector", JSON, "vector tilesets (MVT)"),
        link(f"{url}/map/tiles", OGC_REL + "tilesets-map", JSON, "map tilesets (PNG)"),
    ] if tile_links else []
    doc = {
        "id": layer.id, "title": layer.title_en, "description": layer.description_en,
        "keywords": [GROUPS[layer.group][1], layer.title_vi],
        "itemType": "feature",
        "crs": [c.uri for c in SUPPORTED],
        "storageCrs": SUPPORTED[0].uri,
        "links": self_and_alternate(url, "", fmt) + [
            link(f"{url}/items?f=json", "items", GEOJSON, "features as GeoJSON"),
            link(f"{url}/items?f=html", "items", HTML, "features as HTML"),
            link(f"{url}/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                 SCHEMA_JSON, "queryables"),
        ] + tiles,
        "title_vi": layer.title_vi, "group": layer.group, "geometryType": layer.geometry_type,
    }
    if extent:
        doc["extent"] = extent
    return doc


def collections(engine: sa.Engine, pairs, *, base: str, accept_html: bool) -> ApiResponse:
    fmt = output_format(only_known(pairs, ("f",)).get("f"), accept_html)
    with db_errors(), engine.connect() as conn:
        docs = [collection_doc(layer, base, _extent_cached(conn, layer), fmt) for layer in visible_layers()]
    doc = {"links": self_and_alternate(f"{base}/collections", "", fmt), "collections": docs}
    return ApiResponse(media_type=JSON if fmt == "json" else HTML, document=doc,
                       template="ogc/collections.html")


def collection(engine: sa.Engine, layer_id: str, pairs, *, base: str, accept_html: bool,
               tile_links: bool = True) -> ApiResponse:
    layer = get_layer(layer_id)
    fmt = output_format(only_known(pairs, ("f",)).get("f"), accept_html)
    with db_errors(), engine.connect() as conn:
        doc = collection_doc(layer, base, _extent_cached(conn, layer), fmt, tile_links=tile_links)
    doc["_ctx"] = {"layer": layer}
    return ApiResponse(media_type=JSON if fmt == "json" else HTML, document=doc,
                       template="ogc/collection.html")


def json_schema_type(column: sa.Column) -> dict:
    for base_type, (kind, fmt) in JSON_TYPES.items():
        if isinstance(column.type, base_type):
            out = {"type": kind}
            if fmt:
                out["format"] = fmt
            return out
    return {"type": "string"}


def queryables_schema(layer: Layer, base: str) -> dict:
    props: dict = {"geometry": {"title": "Geometry", "x-ogc-role": "primary-geometry",
                                "format": "geometry-" + layer.geometry_type.lower(),
                                "$ref": GEOMETRY_SCHEMAS.get(layer.geometry_type)}}
    for f in layer.queryables:
        props[f.name] = {"title": f.en, "description": f.vi, **json_schema_type(layer.column(f.name))}
        if layer.time_field == f.name:
            props[f.name]["x-ogc-role"] = "primary-instant"
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{base}/collections/{layer.id}/queryables",
            "type": "object", "title": layer.title_en, "properties": props,
            "additionalProperties": False}


def queryables(layer_id: str, pairs, *, base: str, accept_html: bool) -> ApiResponse:
    layer = get_layer(layer_id)
    fmt = output_format(only_known(pairs, ("f",)).get("f"), accept_html)
    doc = queryables_schema(layer, base)
    if fmt == "html":
        doc["_ctx"] = {"layer": layer}
    return ApiResponse(media_type=SCHEMA_JSON if fmt == "json" else HTML, document=doc,
                       template="ogc/queryables.html",
                       etag=make_tag("queryables", layer.id, len(doc["properties"])))
