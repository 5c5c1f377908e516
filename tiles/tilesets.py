"""OGC API - Tiles tileset documents of one layer: the tileset list and the tileset
metadata, for its vector tiles (MVT) and its map tiles (PNG drawn by Mapnik).

Clients such as GDAL's OGCAPI driver walk these documents by their links: the collection
links `tilesets-vector` / `tilesets-map` to the list, the list's `self` links name each
tileset, and a tileset's `item` link (templated, typed) and `tiling-scheme` link give the
tile URL and the grid. `tileMatrixSetLimits` cover only the data's bounds, so a client
asks for no tile that is known to be empty.

URL contracts (relative to the service root `base`):
- vector tileset  {base}/collections/{layer}/tiles/WebMercatorQuad
- map tileset     {base}/collections/{layer}/map/tiles/WebMercatorQuad
- tiles           {tileset}/{tileMatrix}/{tileRow}/{tileCol}
"""
from __future__ import annotations

from dataclasses import dataclass

from .generalise import is_point_layer
from .grid import CRS_URI, MAX_ZOOM, TMS_ID, TMS_URI, lonlat_to_tile
from .mvt import MEDIA_TYPE as MVT_TYPE

JSON = "application/json"
PNG_TYPE = "image/png"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"


@dataclass(frozen=True)
class TilesetKind:
    """What differs between a layer's vector and map tilesets."""

    data_type: str      # the OGC `dataType`: "vector" or "map"
    path: str           # below /collections/{layer}: "tiles" or "map/tiles"
    media_type: str     # of one tile
    label: str          # for titles


VECTOR = TilesetKind("vector", "tiles", MVT_TYPE, "vector tiles (MVT)")
MAP = TilesetKind("map", "map/tiles", PNG_TYPE, "map tiles (PNG)")


def tilesets_url(layer, base: str, kind: TilesetKind) -> str:
    """Where the list of a layer's tilesets of this kind is served."""
    return f"{base}/collections/{layer.id}/{kind.path}"


def zoom_range(layer) -> range:
    """The tile matrices (zoom levels) a layer has tiles at."""
    return range(layer.min_zoom, min(layer.max_zoom, MAX_ZOOM) + 1)


def matrix_limits(bounds: list[float], zooms: range) -> list[dict]:
    """`tileMatrixSetLimits`: per zoom, the rows and columns of the tiles touching the
    (west, south, east, north) bounds in degrees."""
    west, south, east, north = bounds
    limits = []
    for z in zooms:
        min_col, min_row = lonlat_to_tile(west, north, z)
        max_col, max_row = lonlat_to_tile(east, south, z)
        limits.append({"tileMatrix": str(z), "minTileRow": min_row, "maxTileRow": max_row,
                       "minTileCol": min_col, "maxTileCol": max_col})
    return limits


def _links(tileset: str, base: str, kind: TilesetKind) -> list[dict]:
    """Links every tileset document carries: itself, its tiling scheme, its tiles."""
    return [
        {"rel": "self", "type": JSON, "href": tileset, "title": "this tileset"},
        {"rel": TILING_SCHEME, "type": JSON, "href": f"{base}/tileMatrixSets/{TMS_ID}",
         "title": "the tiling scheme"},
        {"rel": "item", "type": kind.media_type, "templated": True,
         "href": tileset + "/{tileMatrix}/{tileRow}/{tileCol}", "title": "a tile"},
    ]


def _geometry_dimension(layer) -> int:
    if is_point_layer(layer):
        return 0
    return 1 if "line" in layer.geometry_type.lower() else 2


def _layer_entry(layer, fields: dict[str, str] | None, kind: TilesetKind) -> dict:
    """The tileset's `layers` entry (OGC API - Tiles 'geodata' description)."""
    zooms = zoom_range(layer)
    entry = {"id": layer.id, "title": layer.title_en, "dataType": kind.data_type,
             "geometryDimension": _geometry_dimension(layer),
             "minTileMatrix": str(zooms.start), "maxTileMatrix": str(zooms.stop - 1)}
    if fields is not None:
        entry["propertiesSchema"] = {"type": "object", "properties": {
            name: {"type": field_kind.lower()} for name, field_kind in fields.items()}}
    return entry


def tileset_metadata(layer, base: str, bounds: list[float], kind: TilesetKind,
                     fields: dict[str, str] | None = None) -> dict:
    """The tileset metadata of a layer's tiles of this kind in WebMercatorQuad; `fields`
    (name -> TileJSON kind) describe vector tiles' attributes."""
    tileset = f"{tilesets_url(layer, base, kind)}/{TMS_ID}"
    links = _links(tileset, base, kind)
    if kind is VECTOR:
        links.append({"rel": "describedby", "type": JSON, "href": tileset + "/tilejson",
                      "title": "TileJSON"})
    return {
        "title": f"{layer.title_vi} / {layer.title_en}: {kind.label}",
        "dataType": kind.data_type,
        "crs": CRS_URI,
        "tileMatrixSetURI": TMS_URI,
        "tileMatrixSetLimits": matrix_limits(bounds, zoom_range(layer)),
        "boundingBox": {"lowerLeft": bounds[:2], "upperRight": bounds[2:], "crs": CRS84},
        "layers": [_layer_entry(layer, fields, kind)],
        "links": links,
    }


def tilesets_list(layer, base: str, kind: TilesetKind) -> dict:
    """The list of a layer's tilesets of this kind (one, in WebMercatorQuad)."""
    tileset = f"{tilesets_url(layer, base, kind)}/{TMS_ID}"
    return {"tilesets": [{
        "title": f"{layer.title_en}: {kind.label}",
        "dataType": kind.data_type,
        "crs": CRS_URI,
        "tileMatrixSetURI": TMS_URI,
        "links": _links(tileset, base, kind),
    }], "links": [{"rel": "self", "type": JSON, "href": tilesets_url(layer, base, kind)}]}
