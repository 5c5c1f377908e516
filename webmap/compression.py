"""gzip for the map page and its scripts and style sheets (`/map`, `/vendor/...`,
`/static/map/...`) when the browser asks for it: Leaflet and its plugins are a few
hundred KB of text that shrink to a quarter, which matters on a city office's slow
link. Tiles are not touched (PNG is compressed already, MVT has its own policy).

A compressed answer carries `Content-Encoding: gzip` and `Vary: Accept-Encoding`, and
its ETag becomes weak: the bytes differ from the plain answer's but mean the same, and
weak validators still give 304s (If-None-Match compares weakly). Compressed bodies are
kept per (ETag, size) so a file is compressed once, not on every request."""
from __future__ import annotations

import gzip
import threading
from collections import OrderedDict

from flask import Response, request

MIN_BYTES = 512
LEVEL = 6
CACHE_ENTRIES = 64
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")

_cache: OrderedDict[tuple[str, int], bytes] = OrderedDict()
_lock = threading.Lock()


def accepts_gzip() -> bool:
    """True when the request's Accept-Encoding allows gzip (q > 0)."""
    return request.accept_encodings["gzip"] > 0


def _compressible(response: Response) -> bool:
    return (response.status_code == 200 and "Content-Encoding" not in response.headers
            and response.mimetype.startswith(COMPRESSIBLE) and request.method == "GET")


def _compressed(body: bytes, etag: str | None) -> bytes:
    if etag is None:
        return gzip.compress(body, LEVEL, mtime=0)
    key = (etag, len(body))
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    packed = gzip.compress(body, LEVEL, mtime=0)
    with _lock:
        _cache[key] = packed
        while len(_cache) > CACHE_ENTRIES:
            _cache.popitem(last=False)
    return packed


def gzip_if_asked(response: Response) -> Response:
    """The response gzipped when the client accepts it and it is text worth
    compressing; always marked `Vary: Accept-Encoding` when it could have been."""
    if not _compressible(response):
        return response
    response.vary.add("Accept-Encoding")
    if not accepts_gzip():
        return response
    response.direct_passthrough = False
    body = response.get_data()
    if len(body) < MIN_BYTES:
        return response
    etag, _weak = response.get_etag()
    response.set_data(_compressed(body, etag))
    response.headers["Content-Encoding"] = "gzip"
    if etag is not None:
        response.set_etag(etag, weak=True)
    return response
