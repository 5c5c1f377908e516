"""OGC API - Features over HTTP: each view is one call into `webmap.api`; this module
only reads the request (query pairs, Accept, Accept-Encoding) and names the cache
policy; `webmap.responses` decides 304 and renders the `ApiResponse`."""
from __future__ import annotations

from flask import Blueprint, request

from .api import collections as api_collections
from .api import compliance as api_compliance
from .api import history as api_history
from .api import items as api_items
from .api import landing as api_landing
from .api import openapi as api_openapi
from .api.client_quirks import legacy_gdal
from .api.encoding import accepts_gzip
from .responses import respond
from .services import services

bp = Blueprint("ogc", __name__)


def _pairs() -> list[tuple[str, str]]:
    return list(request.args.items(multi=True))


def _base() -> str:
    return request.host_url.rstrip("/") + request.script_root


def _accept_html() -> bool:
    best = request.accept_mimetypes.best_match(
        ["application/json", "application/geo+json", "application/schema+json", "text/html"])
    return best == "text/html"


@bp.get("/")
def landing():
    return respond(api_landing.landing(_pairs(), base=_base(), accept_html=_accept_html()),
                   "landing")


@bp.get("/conformance")
def conformance():
    return respond(api_landing.conformance(_pairs(), base=_base(), accept_html=_accept_html(),
                                           writes=services().settings.writes),
                   "document")


@bp.get("/api")
def openapi():
    return respond(api_openapi.openapi(_pairs(), base=_base(), accept_html=_accept_html(),
                                       writes=services().settings.writes),
                   "document")


@bp.get("/collections")
def collections():
    return respond(api_collections.collections(services().engine, _pairs(), base=_base(),
                                               accept_html=_accept_html()), "listing")


@bp.get("/collections/<layer_id>")
def collection(layer_id: str):
    quirky = legacy_gdal(request.headers.get("User-Agent"), request.headers.get("Accept"))
    return respond(api_collections.collection(services().engine, layer_id, _pairs(),
                                              base=_base(), accept_html=_accept_html(),
                                              tile_links=not quirky), "listing")


@bp.get("/collections/<layer_id>/queryables")
def queryables(layer_id: str):
    return respond(api_collections.queryables(layer_id, _pairs(), base=_base(),
                                              accept_html=_accept_html()), "document")


@bp.get("/collections/<layer_id>/items")
def items(layer_id: str):
    return respond(api_items.items_page(
        services().engine, layer_id, _pairs(), base=_base(), accept_html=_accept_html(),
        gzip=accepts_gzip(request.headers.get("Accept-Encoding"))), "data")


@bp.get("/collections/<layer_id>/items/<feature_id>")
def item(layer_id: str, feature_id: str):
    return respond(api_items.item(services().engine, layer_id, feature_id, _pairs(),
                                  base=_base(), accept_html=_accept_html()), "data")


@bp.get("/collections/<layer_id>/items/<feature_id>/history")
def item_history(layer_id: str, feature_id: str):
    return respond(api_history.feature_versions(services().engine, layer_id, feature_id, _pairs(),
                                                base=_base(), accept_html=_accept_html()), "data")


@bp.get("/collections/<layer_id>/items/<feature_id>/compliance")
def item_compliance(layer_id: str, feature_id: str):
    return respond(api_compliance.compliance(services().engine, layer_id, feature_id, _pairs()), "data")
