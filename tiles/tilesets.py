"""OGC API - Tiles tileset documents of one layer: the tileset list and the tileset
metadata, for its vector tiles (MVT) and its map tiles (PNG drawn by Mapnik).

Clients such as GDAL's OGCAPI driver walk these documents by their links: the collection
links `tilesets-vector` / `tilesets-map` to the list, the list's `self` links name each
tileset, and a tileset's `item` link (templated, typed) and `tiling-scheme` link give the
tile URL and the grid. `tileMatrixSetLimits` cover only the data's bounds, so a client
asks for no tile that is known to be empty.

Each kind is offered in two tile matrix sets (`tiles.grid`): WebMercatorQuad, listed
first, and WorldCRS84Quad, which GDAL's driver prefers and reads without open options
(its vector path compares the collection's CRS84 extent with the grid's coordinates
without converting them, so only a grid in degrees matches). A layer's zoom range is
the registry's, shifted to the grid's own zooms (`TileMatrixSet.zoom_offset`).

URL contracts (relative to the service root `base`; {tms} is WebMercatorQuad or
WorldCRS84Quad):
- vector tileset  {base}/collections/{layer}/tiles/{tms}
- map tileset     {base}/collections/{layer}/map/tiles/{tms}
- tiles           {tileset}/{tileMatrix}/{tileRow}/{tileCol}
"""
from __future__ import annotations

from dataclasses import dataclass

from .generalise import is_point_layer
from .grid import MATRIX_SETS, WEB_MERCATOR_QUAD, TileMatrixSet
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


def zoom_range(layer, tms: TileMatrixSet = WEB_MERCATOR_QUAD) -> range:
    """The tile matrices (zoom levels of `tms`) a layer has tiles at."""
    offset = tms.zoom_offset
    return range(max(layer.min_zoom - offset, 0), min(layer.max_zoom - offset, tms.max_zoom) + 1)


def matrix_limits(bounds: list[float], zooms: range,
                  tms: TileMatrixSet = WEB_MERCATOR_QUAD) -> list[dict]:
    """`tileMatrixSetLimits`: per zoom of `tms`, the rows and columns of the tiles
    touching the (west, south, east, north) bounds in degrees."""
    west, south, east, north = bounds
    limits = []
    for z in zooms:
        min_col, min_row = tms.tile_at(west, north, z)
        max_col, max_row = tms.tile_at(east, south, z)
        limits.append({"tileMatrix": str(z), "minTileRow": min_row, "maxTileRow": max_row,
                       "minTileCol": min_col, "maxTileCol": max_col})
    return limits


def tileset_url(layer, base: str, kind: TilesetKind, tms: TileMatrixSet) -> str:
    """Where a layer's tileset of this kind in `tms` is served."""
    return f"{tilesets_url(layer, base, kind)}/{tms.id}"


def _links(tileset: str, base: str, kind: TilesetKind, tms: TileMatrixSet,
           version: int | None = None) -> list[dict]:
    """Links every tileset document carries: itself, its tiling scheme, its tiles (at a
    data version when given: immutable tiles, see tiles.url_version)."""
    tiles = tileset if version is None else f"{tileset}/v{version}"
    return [
        {"rel": "self", "type": JSON, "href": tileset, "title": "this tileset"},
        {"rel": TILING_SCHEME, "type": JSON, "href": f"{base}/tileMatrixSets/{tms.id}",
         "title": "the tiling scheme"},
        {"rel": "item", "type": kind.media_type, "templated": True,
         "href": tiles + "/{tileMatrix}/{tileRow}/{tileCol}", "title": "a tile"},
    ]


def _geometry_dimension(layer) -> int:
    if is_point_layer(layer):
        return 0
    return 1 if "line" in layer.geometry_type.lower() else 2


def _layer_entry(layer, fields: dict[str, str] | None, kind: TilesetKind,
                 tms: TileMatrixSet) -> dict:
    """The tileset's `layers` entry (OGC API - Tiles 'geodata' description)."""
    zooms = zoom_range(layer, tms)
    entry = {"id": layer.id, "title": layer.title_en, "dataType": kind.data_type,
             "geometryDimension": _geometry_dimension(layer),
             "minTileMatrix": str(zooms.start), "maxTileMatrix": str(zooms.stop - 1)}
    if fields is not None:
        entry["propertiesSchema"] = {"type": "object", "properties": {
            name: {"type": field_kind.lower()} for name, field_kind in fields.items()}}
    return entry


def tileset_metadata(layer, base: str, bounds: list[float], kind: TilesetKind,
                     fields: dict[str, str] | None = None,
                     tms: TileMatrixSet = WEB_MERCATOR_QUAD, version: int | None = None) -> dict:
    """The tileset metadata of a layer's tiles of this kind in `tms`; `fields` (name ->
    TileJSON kind) describe vector tiles' attributes. Only WebMercatorQuad's vector
    tileset links the TileJSON (which stays in WebMercatorQuad). `version`: the data
    version its tile template carries (the tilesets list, kept for minutes, carries none)."""
    tileset = tileset_url(layer, base, kind, tms)
    links = _links(tileset, base, kind, tms, version)
    if kind is VECTOR and tms is WEB_MERCATOR_QUAD:
        links.append({"rel": "describedby", "type": JSON, "href": tileset + "/tilejson",
                      "title": "TileJSON"})
    return {
        "title": f"{layer.title_vi} / {layer.title_en}: {kind.label}, {tms.id}",
        "dataType": kind.data_type,
        "crs": tms.crs,
        "tileMatrixSetURI": tms.uri,
        "tileMatrixSetLimits": matrix_limits(bounds, zoom_range(layer, tms), tms),
        "boundingBox": {"lowerLeft": bounds[:2], "upperRight": bounds[2:], "crs": CRS84},
        "layers": [_layer_entry(layer, fields, kind, tms)],
        "links": links,
    }


def tilesets_list(layer, base: str, kind: TilesetKind) -> dict:
    """The list of a layer's tilesets of this kind, one per tile matrix set."""
    return {"tilesets": [{
        "title": f"{layer.title_en}: {kind.label}, {tms.id}",
        "dataType": kind.data_type,
        "crs": tms.crs,
        "tileMatrixSetURI": tms.uri,
        "links": _links(tileset_url(layer, base, kind, tms), base, kind, tms),
    } for tms in MATRIX_SETS.values()],
        "links": [{"rel": "self", "type": JSON, "href": tilesets_url(layer, base, kind)}]}
