"""A lean WSGI path for vector tile requests, in front of Flask.

A tile is the most frequent request of the map (one per tile per pan), and on a 2-core
server Flask's per-request machinery (request context, URL map, request object, error
plumbing) costs about as much Python time as the tile itself. This middleware recognises
the two vector tile URLs

    GET /tiles/{layers}/{z}/{x}/{y}.mvt
    GET /collections/{layer}/tiles/{tms}/{z}/{y}/{x}     (WebMercatorQuad or WorldCRS84Quad)

and the same at a data version (`/tiles/v{version}/...`, `.../{tms}/v{version}/...`,
tiles.url_version: immutable, or a redirect to the current version)

without a query string, and answers them with the very function the Flask views use
(`webmap.tile_http.tile_result`: same validation, cache, ETag/304/204, gzip and headers)
over the same lazily built tile service (`webmap.tile_services`),
writing the WSGI answer itself (a werkzeug Response object costs more Python than the rest
of the tile; a test holds the two answers equal, header for header). Errors are handed to
the app's error handlers inside a request context, so they are the same JSON as from the
views. Anything else (other methods, query strings such as `filter`, other URLs, a
collection that is not a vector layer or an unknown tile matrix set, a request with an
`Authorization` header, a layer hidden from anonymous readers) goes to Flask unchanged.
"""
from __future__ import annotations

import re

from flask import Flask

from gisdb.errors import NotFound
from layers.registry import get_layer
from tiles.grid import MATRIX_SETS, WEB_MERCATOR_QUAD
from tiles.url_version import UrlVersion

from .authz import hidden_layers
from .cors import CORS
from .tile_http import NO_ARGS, tile_result
from .tile_services import vector_tiles
from .wsgi_errors import app_error

_COMPOSITE = re.compile(r"/tiles/([^/]+)/([^/]+)/([^/]+)/([^/]+)\.mvt")
_COLLECTION = re.compile(r"/collections/([^/]+)/tiles/([^/]+)/([^/]+)/([^/]+)/([^/]+)")
# the same at a data version (tiles.url_version): the version is digits, else Flask's 400
_VERSIONED = re.compile(r"/tiles/v([0-9]{1,18})/(([^/]+)/([^/]+)/([^/]+)/([^/]+)\.mvt)")
_VERSIONED_COLLECTION = re.compile(
    r"/collections/([^/]+)/tiles/([^/]+)/v([0-9]{1,18})/(([^/]+)/([^/]+)/([^/]+))")
_STATUS = {200: "200 OK", 204: "204 No Content", 302: "302 Found", 304: "304 Not Modified"}
_CORS = list(CORS.items())          # outside Flask's request cycle: the app's policy by hand


def _match(path: str):
    """(layers, z, x, y, tile matrix set, URL version or None) of a vector tile path this
    middleware serves, else None."""
    found = _COMPOSITE.fullmatch(path)
    if found is not None:
        return (*found.groups(), WEB_MERCATOR_QUAD, None)
    found = _COLLECTION.fullmatch(path)
    if found is None:
        return _match_versioned(path)
    layer, name, z, y, x = found.groups()
    return _collection_tile(layer, name, z, x, y, None)


def _match_versioned(path: str):
    """`_match` of the versioned tile paths (tiles.url_version)."""
    found = _VERSIONED.fullmatch(path)
    if found is not None:
        version, rest, layers, z, x, y = found.groups()
        return layers, z, x, y, WEB_MERCATOR_QUAD, UrlVersion(int(version), tuple(rest.split("/")))
    found = _VERSIONED_COLLECTION.fullmatch(path)
    if found is None:
        return None
    layer, name, version, rest, z, y, x = found.groups()
    return _collection_tile(layer, name, z, x, y, UrlVersion(int(version), tuple(rest.split("/"))))


def _collection_tile(layer: str, name: str, z, x, y, versioned):
    """The parts of a collection's tile path, when it is a vector layer's tile in a known
    tile matrix set (else None: Flask answers the 404)."""
    tms = MATRIX_SETS.get(name)
    if tms is None:
        return None                     # Flask answers the 404 of an unknown tile matrix set
    try:
        get_layer(layer)
    except NotFound:
        return None                     # and the 404 of an unknown collection
    return layer, z, x, y, tms, versioned


class TileFastPath:
    """WSGI middleware: vector tiles directly, everything else through `wsgi_app`."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def _hides(self, layers_text: str) -> bool:
        """True when a layer of the path is hidden from anonymous readers: Flask (and
        webmap.authz) answers those, so a credential can still read it."""
        try:
            hidden = hidden_layers(self.app)
        except Exception:               # Flask answers the error as JSON
            return True
        return bool(hidden) and any(part.strip() in hidden for part in layers_text.split(","))

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if (environ.get("REQUEST_METHOD") != "GET" or environ.get("QUERY_STRING")
                or not path.isascii() or not (path.startswith("/tiles/")
                                              or path.startswith("/collections/"))):
            return self.wsgi_app(environ, start_response)
        parts = _match(path)
        if parts is None or "HTTP_AUTHORIZATION" in environ or self._hides(parts[0]):
            return self.wsgi_app(environ, start_response)
        layers, z, x, y, tms, versioned = parts
        app = self.app
        try:
            result = tile_result(vector_tiles(app), layers, z, x, y, NO_ARGS,
                                 environ.get("HTTP_IF_NONE_MATCH"),
                                 environ.get("HTTP_ACCEPT_ENCODING", ""), tms, versioned)
        except Exception as exc:        # the app's own handlers: the same JSON errors
            return app_error(app, environ, start_response, exc)
        status, headers, body, media_type = result
        items = [*headers.items(), *_CORS]
        if media_type is not None:      # 204 / 304 have neither body nor Content-Type
            items += (("Content-Type", media_type), ("Content-Length", str(len(body))))
        start_response(_STATUS[status], items)
        return [body]


def install(app: Flask) -> None:
    """Put the fast path in front of the app's WSGI callable."""
    app.wsgi_app = TileFastPath(app, app.wsgi_app)
