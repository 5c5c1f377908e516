"""PNG tile endpoints of the vector layers, drawn by Mapnik, and of the offline base
map. Each view is one call into `tiles`; `webmap.tile_http` answers (304 before
anything is drawn, else the bytes).

URL contracts (the last path segment may end in `@2x` for 512-pixel tiles at scale 2):
- `/collections/{layer}/map/tiles/{tms}/{z}/{y}/{x}.png` one layer (OGC API - Maps
  style, row then column; {tms} WebMercatorQuad or WorldCRS84Quad, drawn in EPSG:3857 or
  EPSG:4326); a zoom outside the layer's range is a 404.
- `/tiles/{layer1,layer2,...}/{z}/{x}/{y}.png` and `...{y}@2x.png` several layers in one
  image (XYZ order); layers outside their zoom range are left out (transparent).
  One layer may be drawn in a thematic colouring (`theme=floors`, see `layers.themes`)
  and filtered (`filter=` CQL2 with `filter-lang`/`filter-crs`, the features API's
  rules); with several layers either is a 400.
- `/tiles/base/{z}/{x}/{y}.png` (and `@2x`) the light offline base map.
- `/tiles/v{version}/{layers}/...png` and `/collections/{layer}/map/tiles/{tms}/v{version}/
  {z}/{y}/{x}.png`: the same at a data version (tiles.url_version; what the map asks for):
  immutable at the current version, a 302 to it otherwise.
- `/collections/{layer}/map/tiles` and `.../map/tiles/{tms}`: the layer's map tileset
  list and metadata (`tiles.tilesets`), what GDAL's OGCAPI driver follows.
Every tile has an ETag (its layers' data versions), answers 304 to a matching
If-None-Match, and says `Cache-Control: public, no-cache` (revalidate every time, so an
edit shows at once).
"""
from __future__ import annotations

from flask import Blueprint, Response, request

from gisdb.errors import InvalidParameter
from gisdb.temporal import TimeRange, parse_as_of, parse_datetime
from layers.registry import get_layer
from tiles import tilejson, tilesets
from tiles.grid import matrix_set, parse_tile
from tiles.png import PngTiles, check_zoom, parse_layer_list
from tiles.png_look import Look
from tiles.url_version import UrlVersion, url_version

from .caching import as_of_cache
from .responses import flask_response, json_document, respond
from .tile_http import check_params, image_response, moved, requested_version, scaled
from .tile_services import png_tiles, vector_tiles

bp = Blueprint("png_tiles", __name__)
# `v`: a client's cache-buster after an edit (the map's edit tools), otherwise ignored:
# the tile and its ETag follow the data versions whatever it says
PNG_PARAMS = frozenset({"f", "v"})
LAYER_PNG_PARAMS = frozenset({"f", "v", "as_of", "datetime", "theme", "filter", "filter-lang",
                              "filter-crs"})


def _png_tiles(allowed: frozenset = PNG_PARAMS) -> PngTiles:
    check_params(request.args, allowed)
    return png_tiles()


def _layers_png(layer_ids: tuple[str, ...], tile, scale: int,
                versioned: UrlVersion | None = None) -> Response:
    """The PNG tile of the layers; at a URL version (`versioned`, not with `as_of`, whose
    instant names the data) immutable, or a redirect to the current version."""
    tiles = _png_tiles(LAYER_PNG_PARAMS)
    as_of = parse_as_of(request.args.get("as_of"))
    span = _datetime(layer_ids, request.args.get("datetime"))
    look = Look(theme=request.args.get("theme"), filter_text=request.args.get("filter"),
                filter_lang=request.args.get("filter-lang"),
                filter_crs=request.args.get("filter-crs"))
    versioned = None if as_of is not None else versioned
    image = tiles.layers_tile(layer_ids, tile, scale, as_of, span, look, versioned is not None)
    if versioned is None:
        return image_response(image, "data", as_of_cache(as_of))
    if image.version != versioned.version:
        return flask_response(*moved(versioned, image.version))
    own = "private" if "Authorization" in request.headers else "versioned_tile"
    return image_response(image, "data", own)


def _datetime(layer_ids: tuple[str, ...], raw: str | None) -> TimeRange | None:
    """`datetime` of a PNG tile (the data's own time: for the admin units, the units valid
    then instead of today's), by the vector tiles' rules."""
    if raw is None or not raw.strip():
        return None
    if len(layer_ids) == 1 and not get_layer(layer_ids[0]).time_field:
        raise InvalidParameter(f"layer {layer_ids[0]!r} has no time field for datetime")
    return parse_datetime(raw)


@bp.get("/collections/<layer>/map/tiles/<tms>/<z>/<y>/<x>.png")
@bp.get("/collections/<layer>/map/tiles/<tms>/<z>/<y>/<x>")
def collection_map_tile(layer: str, tms: str, z: str, y: str, x: str):
    return _collection_png(layer, tms, z, y, x)


def _collection_png(layer: str, tms: str, z: str, y: str, x: str,
                    versioned: UrlVersion | None = None) -> Response:
    """One layer's PNG tile in a tile matrix set (row, then column)."""
    ids = parse_layer_list(layer)
    if len(ids) != 1:
        raise InvalidParameter("one layer per collection tile; use /tiles/{a,b}/{z}/{x}/{y}.png")
    grid = matrix_set(tms)
    x, scale = scaled(x)
    tile = parse_tile(z, x, y, tms=grid)
    check_zoom(ids[0], tile)
    return _layers_png(ids, tile, scale, versioned)


@bp.get("/collections/<layer>/map/tiles/<tms>/v<version>/<z>/<y>/<x>.png")
@bp.get("/collections/<layer>/map/tiles/<tms>/v<version>/<z>/<y>/<x>")
def versioned_collection_map_tile(layer: str, tms: str, version: str, z: str, y: str, x: str):
    suffix = ".png" if request.path.endswith(".png") else ""
    versioned = requested_version(version, z, y, x + suffix)
    return _collection_png(layer, tms, z, y, x, versioned)


@bp.get("/collections/<layer>/map/tiles")
def collection_map_tilesets(layer: str):
    """The layer's map tilesets (OGC API - Tiles), linked from its collection."""
    return respond(json_document(tilesets.tilesets_list(
        get_layer(layer), request.url_root.rstrip("/"), tilesets.MAP)), "document")


@bp.get("/collections/<layer>/map/tiles/<tms>")
def collection_map_tileset(layer: str, tms: str):
    """The metadata of the layer's PNG tiles in a tile matrix set, limited to its data."""
    grid = matrix_set(tms)
    chosen = get_layer(layer)
    with vector_tiles().engine.connect() as conn:
        bounds = tilejson.layer_bounds(conn, [chosen])
        version = url_version(conn, [chosen])
    return respond(json_document(tilesets.tileset_metadata(
        chosen, request.url_root.rstrip("/"), bounds, tilesets.MAP, tms=grid,
        version=version)), "listing")


@bp.get("/tiles/base/<z>/<x>/<y>.png")
def base_tile(z: str, x: str, y: str):
    y, scale = scaled(y)
    tile = parse_tile(z, x, y)
    return image_response(_png_tiles().base_tile(tile, scale), "data")


@bp.get("/tiles/<layers>/<z>/<x>/<y>.png")
def layers_tile(layers: str, z: str, x: str, y: str):
    y, scale = scaled(y)
    tile = parse_tile(z, x, y)
    return _layers_png(parse_layer_list(layers), tile, scale)


@bp.get("/tiles/v<version>/<layers>/<z>/<x>/<y>.png")
def versioned_layers_tile(version: str, layers: str, z: str, x: str, y: str):
    versioned = requested_version(version, layers, z, x, y + ".png")
    y, scale = scaled(y)
    tile = parse_tile(z, x, y)
    return _layers_png(parse_layer_list(layers), tile, scale, versioned)
