"""HTTP of tiles, shared by the tile views and the WSGI fast path: query parameters and
`@2x` suffixes (tile matrix sets are named by `tiles.grid.matrix_set`), and the answers:
a vector tile's (304, 204 for an empty tile, gzip negotiation) and a PNG tile's (304
before anything is read or drawn).
The tile services return a tag, a media type and bytes; only this module and
`webmap.responses` turn them into statuses and headers."""
from __future__ import annotations

from typing import Mapping

from flask import Response

from gisdb.errors import InvalidParameter
from gisdb.temporal import parse_as_of
from tiles.grid import WEB_MERCATOR_QUAD, TileMatrixSet
from tiles.png import ImageTile
from tiles.vector import VectorTiles

from .api.response import ApiResponse
from .caching import CACHE_CONTROL, as_of_cache, etag_header, matches
from .responses import respond

VECTOR_PARAMS = frozenset({"filter", "filter-lang", "filter-crs", "datetime", "as_of", "f"})
NO_ARGS = {"filter_text": None, "filter_lang": None, "filter_crs": None, "datetime": None,
           "as_of": None}
VECTOR_CACHE_CONTROL = CACHE_CONTROL["vector_tile"]


def tile_args(args: Mapping[str, str]) -> dict:
    """The vector tile options of a query string (unknown parameters are a 400)."""
    if not args:
        return NO_ARGS
    unknown = sorted(set(args) - VECTOR_PARAMS)
    if unknown:
        raise InvalidParameter(f"unknown query parameter {unknown[0][:40]!r}")
    if args.get("f") not in (None, "", "mvt", "pbf"):
        raise InvalidParameter("tiles are only available as f=mvt")
    return {"filter_text": args.get("filter"),
            "filter_lang": args.get("filter-lang"),
            "filter_crs": args.get("filter-crs"),
            "datetime": args.get("datetime"),
            "as_of": parse_as_of(args.get("as_of"))}


def tile_result(tiles: VectorTiles, layers_text: str, z, x, y, options: dict,
                if_none_match: str | None, accept_encoding: str | None,
                tms: TileMatrixSet = WEB_MERCATOR_QUAD) -> tuple[int, dict, bytes, str | None]:
    """(status, headers, body, media type) of a vector tile request (`options` from
    `tile_args`) on the grid `tms`, for the Flask views and the WSGI fast path alike: 304
    when the client's copy is current, 204 for an empty tile, gzip when accepted. Errors
    raise. Kept to the fewest Python calls: it runs for every tile of every pan."""
    tile = tiles.tile(layers_text, z, x, y, tms=tms, **options)
    as_of = options["as_of"]
    headers = {"ETag": etag_header(tile.etag),
               "Cache-Control": VECTOR_CACHE_CONTROL if as_of is None else _as_of_policy(as_of),
               "Vary": "Accept-Encoding", "X-Tile-Cache": "hit" if tile.hit else "miss"}
    if if_none_match and matches(if_none_match, tile.etag):
        return 304, headers, b"", None
    if tile.empty:
        return 204, headers, b"", None
    if accept_encoding and "gzip" in accept_encoding:
        headers["Content-Encoding"] = "gzip"
        return 200, headers, tile.gzipped, tile.media_type
    return 200, headers, tile.body(), tile.media_type


def _as_of_policy(as_of) -> str:
    """The caching policy of a vector tile as of an instant (settled: it never changes)."""
    return CACHE_CONTROL[as_of_cache(as_of) or "vector_tile"]


def image_response(tile: ImageTile, cache: str, own_cache: str | None = None) -> Response:
    """The answer of a PNG tile: 304 without reading or drawing it when the client's copy
    is current (said as a cache hit), else its bytes from the cache or drawn. `own_cache`:
    the tile's own policy (a settled `as_of`), else `cache`."""
    def load() -> ApiResponse:
        cached = tile.load()
        return ApiResponse(media_type=tile.media_type, body=cached.data,
                           headers={"X-Tile-Cache": "hit" if cached.hit else "miss"})
    return respond(ApiResponse(etag=tile.etag, headers={"X-Tile-Cache": "hit"}, later=load,
                               cache=own_cache), cache)


def check_params(args: Mapping[str, str], allowed: frozenset) -> None:
    """PNG tiles: only `allowed` query parameters, and `f` (if given) is png."""
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise InvalidParameter(f"unknown query parameter {unknown[0][:40]!r}")
    if args.get("f") not in (None, "", "png"):
        raise InvalidParameter("these tiles are PNG only (f=png)")



def scaled(text: str) -> tuple[str, int]:
    """'123@2x' -> ('123', 2); '123' -> ('123', 1)."""
    for suffix, scale in (("@2x", 2), ("@1x", 1)):
        if text.endswith(suffix):
            return text[: -len(suffix)], scale
    return text, 1
