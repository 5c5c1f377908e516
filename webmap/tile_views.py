"""Vector tile endpoints (OGC API - Tiles + composite XYZ + TileJSON). Each view is one
call into `tiles`; this module only speaks HTTP: conditional requests, gzip negotiation
and caching headers.

- GET /tileMatrixSets, /tileMatrixSets/WebMercatorQuad
- GET /collections/{layer}/tiles                                tileset list
- GET /collections/{layer}/tiles/WebMercatorQuad                tileset metadata
- GET /collections/{layer}/tiles/WebMercatorQuad/tilejson       TileJSON 3.0.0
- GET /collections/{layer}/tiles/WebMercatorQuad/{z}/{y}/{x}    MVT (row, then column)
- GET /tiles/{l1,l2,...}/{z}/{x}/{y}.mvt                        composite MVT (XYZ order)
- GET /tiles/{l1,l2,...}.json                                   TileJSON of the composite
Tile query parameters: filter, filter-lang (CQL2), filter-crs, datetime. An empty tile (no feature,
or a zoom outside every layer's range) is `204 No Content`.
"""
from __future__ import annotations

import threading
from typing import Mapping

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from gisdb.errors import InvalidParameter, NotFound
from layers.registry import get_layer
from tiles import grid, tilejson
from tiles.cache import TileCache, etag_matches
from tiles.vector import VectorTiles, make_tile_engine, parse_layers

bp = Blueprint("tiles", __name__)
TILE_PARAMS = frozenset({"filter", "filter-lang", "filter-crs", "datetime", "f"})
CACHE_CONTROL = "public, max-age=0, must-revalidate"
_LOCK = threading.Lock()


def vector_tiles(app: Flask | None = None) -> VectorTiles:
    """The app's VectorTiles (own engine tuned for tile SQL, shared disk cache), built
    on first use. `app` defaults to the current app (the fast path passes its own)."""
    ext = (app or current_app).extensions
    if "gisdb.tiles" not in ext:
        with _LOCK:
            if "gisdb.tiles" not in ext:
                settings = ext["gisdb"].settings
                ext["gisdb.tiles"] = VectorTiles(make_tile_engine(settings),
                                                 TileCache.from_settings(settings))
    return ext["gisdb.tiles"]


def _base() -> str:
    return request.url_root.rstrip("/")


def tile_args(args: Mapping[str, str]) -> dict:
    """The tile options of a query string (unknown parameters are a 400)."""
    if not args:
        return NO_ARGS
    unknown = sorted(set(args) - TILE_PARAMS)
    if unknown:
        raise InvalidParameter(f"unknown query parameter {unknown[0][:40]!r}")
    if args.get("f") not in (None, "", "mvt", "pbf"):
        raise InvalidParameter("tiles are only available as f=mvt")
    return {"filter_text": args.get("filter"),
            "filter_lang": args.get("filter-lang"),
            "filter_crs": args.get("filter-crs"),
            "datetime": args.get("datetime")}


NO_ARGS = {"filter_text": None, "filter_lang": None, "filter_crs": None, "datetime": None}


def _passthrough() -> dict:
    return {k: request.args.get(k) for k in ("filter", "filter-lang", "filter-crs", "datetime")}


def tile_result(tiles: VectorTiles, layers_text: str, z, x, y, args: Mapping[str, str],
                if_none_match: str | None, accept_encoding: str | None
                ) -> tuple[int, dict, bytes, str | None]:
    """(status, headers, body, media type) of a vector tile request: the one place that
    decides conditional answers (304), empty tiles (204), gzip and caching headers, for
    the Flask views and the WSGI fast path (webmap.tile_fastpath) alike. Errors raise."""
    tile = tiles.tile(layers_text, z, x, y, **tile_args(args))
    headers = {"ETag": tile.etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding",
               "X-Tile-Cache": "hit" if tile.hit else "miss"}
    if etag_matches(if_none_match, tile.etag):
        return 304, headers, b"", None
    if tile.empty:
        return 204, headers, b"", None
    if accept_encoding and "gzip" in accept_encoding:
        headers["Content-Encoding"] = "gzip"
        return 200, headers, tile.gzipped, tile.media_type
    return 200, headers, tile.body(), tile.media_type


def make_response(response_class, status: int, headers: dict, body: bytes,
                  media_type: str | None) -> Response:
    """The HTTP response of a `tile_result`."""
    if media_type is None:          # 204 / 304: no body, so no Content-Type either
        response = response_class(status=status, headers=headers)
        del response.headers["Content-Type"]
        return response
    return response_class(body, status=status, headers=headers, mimetype=media_type)


def _tile_response(layers_text: str, z, x, y) -> Response:
    result = tile_result(vector_tiles(), layers_text, z, x, y, request.args,
                         request.headers.get("If-None-Match"),
                         request.headers.get("Accept-Encoding", ""))
    return make_response(current_app.response_class, *result)


def check_tms(tms: str) -> None:
    if tms != grid.TMS_ID:
        raise NotFound(f"no tile matrix set named {tms[:40]!r} (only {grid.TMS_ID})")


def _bounds(chosen: list) -> list[float]:
    """The geographic bounds of the chosen layers' data (for TileJSON and tilesets)."""
    with vector_tiles().engine.connect() as conn:
        return tilejson.layer_bounds(conn, chosen)


@bp.get("/tiles/<layers>/<z>/<x>/<y>.mvt")
def composite_tile(layers, z, x, y):
    return _tile_response(layers, z, x, y)


@bp.get("/tiles/<layers>.json")
def composite_tilejson(layers):
    chosen = parse_layers(layers)
    bounds = _bounds(chosen)
    url = tilejson.composite_tiles_url(_base(), chosen, _passthrough())
    return jsonify(tilejson.tilejson(chosen, url, bounds))


@bp.get("/collections/<layer>/tiles/<tms>/<z>/<y>/<x>")
def layer_tile(layer, tms, z, y, x):
    check_tms(tms)
    get_layer(layer)
    return _tile_response(layer, z, x, y)


@bp.get("/collections/<layer>/tiles/<tms>/tilejson")
def layer_tilejson(layer, tms):
    check_tms(tms)
    chosen = get_layer(layer)
    bounds = _bounds([chosen])
    url = tilejson.layer_tiles_url(_base(), chosen, _passthrough())
    return jsonify(tilejson.tilejson([chosen], url, bounds, name=chosen.id))


@bp.get("/collections/<layer>/tiles/<tms>")
def layer_tileset(layer, tms):
    check_tms(tms)
    chosen = get_layer(layer)
    bounds = _bounds([chosen])
    return jsonify(tilejson.tileset_metadata(chosen, _base(), bounds))


@bp.get("/collections/<layer>/tiles")
def layer_tilesets(layer):
    return jsonify(tilejson.tilesets_list(get_layer(layer), _base()))


@bp.get("/tileMatrixSets")
def tile_matrix_sets():
    return jsonify(grid.tile_matrix_sets(_base()))


@bp.get("/tileMatrixSets/<tms>")
def tile_matrix_set(tms):
    check_tms(tms)
    return jsonify(grid.tile_matrix_set(_base()))
