"""HTTP of tiles, shared by the tile views and the WSGI fast path: query parameters and
`@2x` suffixes (tile matrix sets are named by `tiles.grid.matrix_set`), and the answers:
a vector tile's (304, 204 for an empty tile, gzip negotiation) and a PNG tile's (304
before anything is read or drawn).
The tile services return a tag, a media type and bytes; only this module and
`webmap.responses` turn them into statuses and headers."""
from __future__ import annotations

from typing import Mapping

from flask import Response, request

from gisdb.errors import InvalidParameter
from gisdb.temporal import parse_as_of
from tiles.grid import WEB_MERCATOR_QUAD, TileMatrixSet
from tiles.png import ImageTile
from tiles.url_version import UrlVersion, parse_version
from tiles.vector import VectorTiles

from .api.response import ApiResponse
from .caching import CACHE_CONTROL, as_of_cache, etag_header, matches
from .responses import respond

VECTOR_PARAMS = frozenset({"filter", "filter-lang", "filter-crs", "datetime", "as_of", "f"})
NO_ARGS = {"filter_text": None, "filter_lang": None, "filter_crs": None, "datetime": None,
           "as_of": None}
VECTOR_CACHE_CONTROL = CACHE_CONTROL["vector_tile"]
VERSIONED_CACHE_CONTROL = CACHE_CONTROL["versioned_tile"]


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
                tms: TileMatrixSet = WEB_MERCATOR_QUAD,
                versioned: UrlVersion | None = None) -> tuple[int, dict, bytes, str | None]:
    """(status, headers, body, media type) of a vector tile request (`options` from
    `tile_args`) on the grid `tms`, for the Flask views and the WSGI fast path alike: 304
    when the client's copy is current, 204 for an empty tile, gzip when accepted; at a
    URL version (`versioned`), immutable, or a redirect to the current version. Errors
    raise. Kept to the fewest Python calls: it runs for every tile of every pan."""
    as_of = options["as_of"]
    if versioned is None or as_of is not None:   # as_of: its own instant names the data
        tile = tiles.tile(layers_text, z, x, y, tms=tms, **options)
        policy = VECTOR_CACHE_CONTROL if as_of is None else _as_of_policy(as_of)
    else:
        tile = tiles.tile(layers_text, z, x, y, tms=tms, version=versioned.version, **options)
        if tile.version != versioned.version:
            return moved(versioned, tile.version)
        policy = VERSIONED_CACHE_CONTROL
    headers = {"ETag": etag_header(tile.etag), "Cache-Control": policy,
               "Vary": "Accept-Encoding", "X-Tile-Cache": "hit" if tile.hit else "miss"}
    if if_none_match and matches(if_none_match, tile.etag):
        return 304, headers, b"", None
    if tile.empty:
        return 204, headers, b"", None
    if accept_encoding and "gzip" in accept_encoding:
        headers["Content-Encoding"] = "gzip"
        return 200, headers, tile.gzipped, tile.media_type
    return 200, headers, tile.body(), tile.media_type


def moved(versioned: UrlVersion, current: int) -> tuple[int, dict, bytes, None]:
    """The answer to a tile URL naming another data version than the current one: a
    redirect to the current version's URL, never stored (a CDN keeps asking, so the old
    URL never holds new content, and a client with an old TileJSON still draws)."""
    return 302, {"Location": versioned.location(current),
                 "Cache-Control": CACHE_CONTROL["never"]}, b"", None


def requested_version(version: str, *rest: str) -> UrlVersion:
    """The version a tile URL names (400 unless digits), with the path after it and the
    request's query string (what a redirect to the current version keeps)."""
    return UrlVersion(parse_version(version), rest, request.query_string.decode("latin-1"))


def private_if_credential(headers: dict) -> dict:
    """A versioned tile answered to a credential is kept by that browser alone."""
    if headers.get("Cache-Control") == VERSIONED_CACHE_CONTROL and "Authorization" in request.headers:
        headers["Cache-Control"] = CACHE_CONTROL["private"]
    return headers


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
