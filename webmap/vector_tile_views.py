"""Vector tile endpoints (OGC API - Tiles + composite XYZ + TileJSON). Each view is one
call into `tiles`; the answer (304, 204, gzip, headers) is `webmap.tile_http.tile_result`,
the same the WSGI fast path (webmap.tile_fastpath) gives without Flask.

- GET /tileMatrixSets, /tileMatrixSets/{tms}
- GET /collections/{layer}/tiles                                tileset list
- GET /collections/{layer}/tiles/{tms}                          tileset metadata
- GET /collections/{layer}/tiles/WebMercatorQuad/tilejson       TileJSON 3.0.0
- GET /collections/{layer}/tiles/{tms}/{z}/{y}/{x}              MVT (row, then column)
{tms} is WebMercatorQuad or WorldCRS84Quad (`tiles.grid`); TileJSON stays WebMercatorQuad.
- GET /tiles/{l1,l2,...}/{z}/{x}/{y}.mvt                        composite MVT (XYZ order)
- GET /tiles/{l1,l2,...}.json                                   TileJSON of the composite
- GET /tiles/v{version}/{l1,...}/{z}/{x}/{y}.mvt, /collections/{layer}/tiles/{tms}/v{version}/
  {z}/{y}/{x}: the same at a data version (tiles.url_version), what TileJSON names: immutable
  at the current version, a 302 to it otherwise
- GET /tiles/versions                                           each layer's URL version
Tile query parameters: filter, filter-lang (CQL2), filter-crs, datetime, as_of (the database
as it was at that instant). An empty tile (no feature,
or a zoom outside every layer's range) is `204 No Content`.
"""
from __future__ import annotations

from flask import Blueprint, Response, request

from gisdb.temporal import parse_as_of
from layers.registry import get_layer, visible_layers
from tiles import grid, tilejson, tilesets
from tiles.grid import TMS_ID, matrix_set
from tiles.url_version import UrlVersion, layer_url_versions, url_version
from tiles.vector import parse_layers

from .responses import flask_response, json_document, respond
from .tile_http import private_if_credential, requested_version, tile_args, tile_result
from .tile_services import vector_tiles

bp = Blueprint("tiles", __name__)


def _base() -> str:
    return request.url_root.rstrip("/")


def _passthrough() -> dict:
    """The tile options a TileJSON's URL templates carry (`as_of` checked and normalised,
    so MapLibre asks for tiles of that instant)."""
    options = {k: request.args.get(k) for k in ("filter", "filter-lang", "filter-crs", "datetime")}
    as_of = parse_as_of(request.args.get("as_of"))
    options["as_of"] = None if as_of is None else as_of.text
    return options


def _tile_response(layers_text: str, z, x, y, tms=grid.WEB_MERCATOR_QUAD,
                   versioned: UrlVersion | None = None) -> Response:
    status, headers, body, media_type = tile_result(
        vector_tiles(), layers_text, z, x, y, tile_args(request.args),
        request.headers.get("If-None-Match"), request.headers.get("Accept-Encoding", ""), tms,
        versioned)
    return flask_response(status, private_if_credential(headers), body, media_type)


def _bounds_version(chosen: list, options: dict) -> tuple[list[float], int | None]:
    """The geographic bounds of the chosen layers' data (for TileJSON and tilesets) and
    the data version their tile URLs carry (none with `as_of`: the instant names them)."""
    with vector_tiles().engine.connect() as conn:
        version = None if options["as_of"] else url_version(conn, chosen)
        return tilejson.layer_bounds(conn, chosen), version


@bp.get("/tiles/<layers>/<z>/<x>/<y>.mvt")
def composite_tile(layers, z, x, y):
    return _tile_response(layers, z, x, y)


@bp.get("/tiles/v<version>/<layers>/<z>/<x>/<y>.mvt")
def versioned_composite_tile(version, layers, z, x, y):
    return _tile_response(layers, z, x, y,
                          versioned=requested_version(version, layers, z, x, y + ".mvt"))


@bp.get("/tiles/versions")
def tile_versions():
    """The URL version of each layer the caller may read (tiles.url_version): what the map
    puts in its tile URLs, asked again after an edit and now and then."""
    with vector_tiles().engine.connect() as conn:
        doc = {"versions": layer_url_versions(conn, visible_layers())}
    return respond(json_document(doc), "data")


@bp.get("/tiles/<layers>.json")
def composite_tilejson(layers):
    chosen = parse_layers(layers)
    options = _passthrough()
    bounds, version = _bounds_version(chosen, options)
    url = tilejson.composite_tiles_url(_base(), chosen, options, version)
    return respond(json_document(tilejson.tilejson(chosen, url, bounds)), "listing")


@bp.get("/collections/<layer>/tiles/<tms>/<z>/<y>/<x>")
def layer_tile(layer, tms, z, y, x):
    tiling = matrix_set(tms)
    get_layer(layer)
    return _tile_response(layer, z, x, y, tiling)


@bp.get("/collections/<layer>/tiles/<tms>/v<version>/<z>/<y>/<x>")
def versioned_layer_tile(layer, tms, version, z, y, x):
    tiling = matrix_set(tms)
    get_layer(layer)
    return _tile_response(layer, z, x, y, tiling, requested_version(version, z, y, x))


@bp.get("/collections/<layer>/tiles/<tms>/tilejson")
def layer_tilejson(layer, tms):
    matrix_set(tms, (TMS_ID,))
    chosen = get_layer(layer)
    options = _passthrough()
    bounds, version = _bounds_version([chosen], options)
    url = tilejson.layer_tiles_url(_base(), chosen, options, version)
    return respond(json_document(tilejson.tilejson([chosen], url, bounds, name=chosen.id)), "listing")


@bp.get("/collections/<layer>/tiles/<tms>")
def layer_tileset(layer, tms):
    tiling = matrix_set(tms)
    chosen = get_layer(layer)
    bounds, version = _bounds_version([chosen], {"as_of": None})
    fields = tilejson.vector_layer(chosen)["fields"]
    return respond(json_document(tilesets.tileset_metadata(
        chosen, _base(), bounds, tilesets.VECTOR, fields, tiling, version)), "listing")


@bp.get("/collections/<layer>/tiles")
def layer_tilesets(layer):
    return respond(json_document(tilesets.tilesets_list(get_layer(layer), _base(), tilesets.VECTOR)),
                   "document")


@bp.get("/tileMatrixSets")
def tile_matrix_sets():
    return respond(json_document(grid.tile_matrix_sets(_base())), "document")


@bp.get("/tileMatrixSets/<tms>")
def tile_matrix_set(tms):
    return respond(json_document(matrix_set(tms).document(_base())), "document")
