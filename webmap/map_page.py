"""The planners' map pages: `/map` (every layer) and `/map/{layer}` (one layer on).

A page is built by `map_build` from the registry, the city's extent and the raster
catalog: two tiny queries, never layer data, so the HTML is the same size for a thousand
or a million features. Rendered pages are kept per (layer, language, extent, rasters,
asset version) and served with an ETag of that key and Cache-Control, 304 on a match.
"""
from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from functools import lru_cache

import sqlalchemy as sa
from flask import Blueprint, Response, request

from gisdb.errors import InvalidParameter
from gisdb.meta_tables import RasterEntry
from layers.extent import layer_extent
from layers.land import AdminUnit
from layers.registry import ALL_LAYERS, get_layer, visible_layers
from layers.value_labels import value_labels
from tiles.url_version import layer_url_versions

from .api.response import ApiResponse
from .caching import make_tag
from .compression import gzip_if_asked
from .map_build import DEFAULT_VISIBLE, OWN_SCRIPTS, OWN_STYLES, STATIC_DIR, MapSpec, layer_config, render_page
from .responses import HTML_TYPE, respond
from .services import services
from .vendor import allowed_packages, package_version

bp = Blueprint("map_page", __name__)
bp.after_request(gzip_if_asked)

LANGUAGES = ("vi", "en")
ALLOWED_PARAMS = {"lang"}
APP_VERSION = "0.1.0"
DA_NANG = (16.0544, 108.2022)
DEFAULT_ZOOM = 14
VIEW_PX = (1000, 600)             # a laptop's map area, in CSS pixels
CACHE_SIZE = 64

_pages: OrderedDict[str, str] = OrderedDict()
_lock = threading.Lock()


@lru_cache(maxsize=1)
def registry_fingerprint() -> str:
    """What the page takes from the layer registry (layers, labels, styles, zooms, the
    labels of coded values)."""
    return hashlib.sha1(json.dumps([[layer_config(layer) for layer in ALL_LAYERS], value_labels()],
                                   sort_keys=True).encode()).hexdigest()


def asset_version() -> str:
    """A short hash of the app version, the registry, the page's own scripts and the
    installed front-end packages: a new deployment changes the page's ETag and busts
    browser caches of /static/map and /vendor."""
    digest = hashlib.sha1((APP_VERSION + registry_fingerprint()).encode())
    for name in (*OWN_SCRIPTS, *OWN_STYLES):
        path = STATIC_DIR / name
        digest.update(path.read_bytes() if path.is_file() else b"")
    for package in sorted(allowed_packages()):
        digest.update((package + "@" + package_version(package)).encode())
    return digest.hexdigest()[:10]


def choose_language() -> str:
    """`?lang=vi|en`, else the browser's Accept-Language, else Vietnamese."""
    lang = request.args.get("lang")
    if lang is not None:
        if lang not in LANGUAGES:
            raise InvalidParameter("lang must be 'vi' or 'en'")
        return lang
    return request.accept_languages.best_match(LANGUAGES) or "vi"


def check_params() -> None:
    unknown = sorted(set(request.args) - ALLOWED_PARAMS)
    if unknown:
        raise InvalidParameter("unknown parameter(s): " + ", ".join(unknown)
                               + "; the map takes only 'lang'")


def _current_wards(conn: sa.Connection):
    table = AdminUnit.__table__
    return layer_extent(conn, get_layer("admin_units"), estimated=False,
                        where=table.c.level.in_(("ward", "commune")) & table.c.valid_to.is_(None))


def city_view(conn: sa.Connection) -> tuple[float, float]:
    """The centre of the current wards (Da Nang's centre when there are none yet)."""
    box = _current_wards(conn)
    if box is None:
        return DA_NANG
    return _rounded(box.centre)


def city_zoom(conn: sa.Connection) -> int:
    """The zoom at which the current wards (the whole city) fit a laptop's window
    (VIEW_PX), so the first screen frames the city; the old default without wards."""
    box = _current_wards(conn)
    return DEFAULT_ZOOM if box is None else fit_zoom(box)


def fit_zoom(box) -> int:
    """Largest Web Mercator zoom (10-16) at which `box` fits VIEW_PX pixels."""
    def y(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    width = (box.east - box.west) / 360
    height = (y(box.north) - y(box.south)) / (2 * math.pi)
    for zoom in range(16, 9, -1):
        if width * 256 * 2 ** zoom <= VIEW_PX[0] and height * 256 * 2 ** zoom <= VIEW_PX[1]:
            return zoom
    return 10


def layer_view(conn: sa.Connection, layer_id: str) -> tuple[float, float] | None:
    """The centre of a layer's estimated extent (cheap at any size, see layers.extent);
    None when there is no estimate."""
    layer = get_layer(layer_id)
    try:
        with conn.begin_nested():
            box = layer_extent(conn, layer, estimated=True)
    except sa.exc.DBAPIError:
        return None
    return None if box is None else _rounded(box.centre)


def _rounded(centre: tuple[float, float]) -> tuple[float, float]:
    return round(centre[0], 5), round(centre[1], 5)


def raster_catalog(conn: sa.Connection) -> tuple[tuple[str, str], ...]:
    table = RasterEntry.__table__
    rows = conn.execute(sa.select(table.c.name, table.c.title).order_by(table.c.name))
    return tuple((name, title or name) for name, title in rows)


def page_spec(focus: str | None, lang: str) -> MapSpec:
    """What the page shows; its overlays' tile URLs carry the layers' data versions, so
    the page (and its ETag) changes with the data."""
    readable = visible_layers()
    with services().engine.connect() as conn:
        centre, zoom = city_view(conn), city_zoom(conn)
        rasters = raster_catalog(conn)
        versions = tuple(layer_url_versions(conn, readable).items())
        if focus is not None:
            centre = layer_view(conn, focus) or centre
    shown = {layer.id for layer in readable}
    hidden = tuple(layer.id for layer in ALL_LAYERS if layer.id not in shown)
    if focus is None:
        return MapSpec(lang=lang, center=centre, zoom=zoom, rasters=rasters,
                       asset_version=asset_version(), hidden=hidden, tile_versions=versions,
                       visible=tuple(i for i in DEFAULT_VISIBLE if i not in hidden))
    layer = get_layer(focus)
    return MapSpec(lang=lang, center=centre, zoom=max(14, layer.min_zoom), focus=focus,
                   visible=(focus,), rasters=rasters, asset_version=asset_version(),
                   hidden=hidden, tile_versions=versions)


def cached_page(spec: MapSpec) -> tuple[str, str]:
    """(etag, html) of a page, rendered once per distinct spec."""
    etag = make_tag(repr(spec))
    with _lock:
        html = _pages.get(etag)
        if html is not None:
            _pages.move_to_end(etag)
            return etag, html
    html = render_page(spec)
    with _lock:
        _pages[etag] = html
        while len(_pages) > CACHE_SIZE:
            _pages.popitem(last=False)
    return etag, html


def map_response(focus: str | None) -> Response:
    check_params()
    if focus is not None:
        get_layer(focus)                       # 404 before any work
    spec = page_spec(focus, choose_language())
    tag, html = cached_page(spec)
    return respond(ApiResponse(media_type=HTML_TYPE, body=html.encode(), etag=tag,
                               headers={"Vary": "Accept-Language", "Content-Language": spec.lang}),
                   "map_page")


@bp.get("/map")
def map_all():
    return map_response(None)


@bp.get("/map/<layer_id>")
def map_layer(layer_id: str):
    return map_response(layer_id)
