"""TileJSON 3.0.0 documents of single layers and composites, and the OGC API - Tiles
tileset documents (tileset list, tileset metadata) of a layer.

URL contracts (all relative to the service root `base`):
- composite XYZ tiles      {base}/tiles/{l1,l2,...}/{z}/{x}/{y}.mvt
- composite TileJSON       {base}/tiles/{l1,l2,...}.json
- OGC tile of one layer    {base}/collections/{layer}/tiles/WebMercatorQuad/{z}/{y}/{x}
- layer TileJSON           {base}/collections/{layer}/tiles/WebMercatorQuad/tilejson
"""
from __future__ import annotations

from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from layers.extent import layers_extent

from .generalise import DEFAULT_DETAIL_ZOOM, is_point_layer
from .grid import CRS_URI, MAX_ZOOM, TMS_ID, TMS_URI
from .mvt import MEDIA_TYPE

WORLD_BOUNDS = [-180.0, -85.0511287798066, 180.0, 85.0511287798066]
ATTRIBUTION = "Da Nang urban GIS"


def _field_kind(column: sa.Column) -> str:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return "Boolean"
    if isinstance(kind, (sa.Integer, sa.Numeric)):
        return "Number"
    return "String"


def vector_layer(layer) -> dict:
    """The TileJSON `vector_layers` entry of a layer: its tile fields and zoom range."""
    fields = {name: _field_kind(layer.table.c[name]) for name in layer.tile_fields}
    if is_point_layer(layer):
        fields["point_count"] = "Number"
        fields["cluster"] = "Boolean"
    return {"id": layer.id, "description": f"{layer.title_vi} / {layer.title_en}",
            "minzoom": layer.min_zoom, "maxzoom": min(layer.max_zoom, MAX_ZOOM),
            "fields": fields}


def layer_bounds(conn: Connection, layers) -> list[float]:
    """Union of the layers' estimated extents in degrees (no table scan, see
    layers.extent); the world when nothing is known yet."""
    box = layers_extent(conn, layers, estimated=True)
    return list(WORLD_BOUNDS) if box is None else list(box)


def _query(params: dict | None) -> str:
    kept = {k: v for k, v in (params or {}).items() if v not in (None, "")}
    return ("?" + urlencode(kept)) if kept else ""


def tilejson(layers, tiles_url: str, bounds: list[float], *, name: str | None = None) -> dict:
    """TileJSON 3.0.0 of `layers` served at `tiles_url` (a {z}/{x}/{y} template)."""
    minzoom = min(layer.min_zoom for layer in layers)
    maxzoom = min(max(layer.max_zoom for layer in layers), MAX_ZOOM)
    centre_zoom = max(minzoom, min(maxzoom, DEFAULT_DETAIL_ZOOM - 2))
    return {
        "tilejson": "3.0.0",
        "name": name or ",".join(layer.id for layer in layers),
        "description": "; ".join(f"{layer.title_vi} / {layer.title_en}" for layer in layers),
        "version": "1.0.0",
        "attribution": ATTRIBUTION,
        "scheme": "xyz",
        "tiles": [tiles_url],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, centre_zoom],
        "format": "pbf",
        "vector_layers": [vector_layer(layer) for layer in layers],
    }


def composite_tiles_url(base: str, layers, params: dict | None = None) -> str:
    ids = ",".join(layer.id for layer in layers)
    return f"{base}/tiles/{ids}/{{z}}/{{x}}/{{y}}.mvt" + _query(params)


def layer_tiles_url(base: str, layer, params: dict | None = None) -> str:
    return f"{base}/collections/{layer.id}/tiles/{TMS_ID}/{{z}}/{{y}}/{{x}}" + _query(params)


def _tileset_links(tileset: str, base: str) -> list[dict]:
    """Links every tileset document carries: itself, its tiling scheme, its tiles."""
    return [
        {"rel": "self", "type": "application/json", "href": tileset},
        {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
         "type": "application/json", "href": f"{base}/tileMatrixSets/{TMS_ID}"},
        {"rel": "item", "type": MEDIA_TYPE, "templated": True,
         "href": tileset + "/{tileMatrix}/{tileRow}/{tileCol}"},
    ]


def tileset_metadata(layer, base: str, bounds: list[float]) -> dict:
    """OGC API - Tiles tileset metadata of a layer's vector tiles in WebMercatorQuad."""
    tileset = f"{base}/collections/{layer.id}/tiles/{TMS_ID}"
    return {
        "title": f"{layer.title_vi} / {layer.title_en}",
        "dataType": "vector",
        "crs": CRS_URI,
        "tileMatrixSetURI": TMS_URI,
        "tileMatrixSetLimits": [{"tileMatrix": str(z), "minTileRow": 0, "maxTileRow": (1 << z) - 1,
                                 "minTileCol": 0, "maxTileCol": (1 << z) - 1}
                                for z in range(layer.min_zoom, min(layer.max_zoom, MAX_ZOOM) + 1)],
        "boundingBox": {"lowerLeft": bounds[:2], "upperRight": bounds[2:],
                        "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
        "layers": [{"id": layer.id, "dataType": "vector",
                    "geometryDimension": 0 if is_point_layer(layer) else
                    (1 if "line" in layer.geometry_type.lower() else 2),
                    "minTileMatrix": str(layer.min_zoom),
                    "maxTileMatrix": str(min(layer.max_zoom, MAX_ZOOM)),
                    "propertiesSchema": {"type": "object", "properties": {
                        name: {"type": kind.lower() if kind != "Number" else "number"}
                        for name, kind in vector_layer(layer)["fields"].items()}}}],
        "links": [*_tileset_links(tileset, base),
                  {"rel": "describedby", "type": "application/json", "href": tileset + "/tilejson"}],
    }


def tilesets_list(layer, base: str) -> dict:
    """The list of a layer's tilesets (one: vector tiles in WebMercatorQuad)."""
    tileset = f"{base}/collections/{layer.id}/tiles/{TMS_ID}"
    return {"tilesets": [{
        "title": f"{layer.title_en} vector tiles",
        "dataType": "vector",
        "crs": CRS_URI,
        "tileMatrixSetURI": TMS_URI,
        "links": _tileset_links(tileset, base),
    }], "links": [{"rel": "self", "type": "application/json",
                   "href": f"{base}/collections/{layer.id}/tiles"}]}
