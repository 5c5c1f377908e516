"""OGC API - Features over HTTP: each view is one call into `webmap.api`; this module
only reads the request (query pairs, Accept, If-None-Match, Accept-Encoding) and
turns an `ApiResponse` into a Flask response (JSON, HTML template or a stream)."""
from __future__ import annotations

import json

from flask import Blueprint, Response, render_template, request

from .api import collections as api_collections
from .api import items as api_items
from .api import landing as api_landing
from .api import openapi as api_openapi
from .api.encoding import accepts_gzip
from .api.response import ApiResponse
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


def _context() -> dict:
    from .vendor import vendor_url
    return {"vendor_url": vendor_url}


def respond(r: ApiResponse) -> Response:
    if r.status == 304:
        return Response(status=304, headers=r.headers)
    if r.document is not None:
        doc = dict(r.document)
        ctx = doc.pop("_ctx", {})
        if r.media_type == "text/html":
            body = render_template(r.template, doc=doc, **ctx, **_context())
            return Response(body, r.status, r.headers, content_type="text/html; charset=utf-8")
        body = json.dumps(doc, ensure_ascii=False)
        return Response(body, r.status, r.headers, content_type=r.media_type)
    return Response(r.body, r.status, r.headers, content_type=r.media_type,
                    direct_passthrough=True)


@bp.get("/")
def landing():
    return respond(api_landing.landing(_pairs(), base=_base(), accept_html=_accept_html()))


@bp.get("/conformance")
def conformance():
    return respond(api_landing.conformance(_pairs(), base=_base(), accept_html=_accept_html()))


@bp.get("/api")
def openapi():
    return respond(api_openapi.openapi(_pairs(), base=_base(), accept_html=_accept_html()))


@bp.get("/collections")
def collections():
    return respond(api_collections.collections(services().engine, _pairs(), base=_base(),
                                               accept_html=_accept_html()))


@bp.get("/collections/<layer_id>")
def collection(layer_id: str):
    return respond(api_collections.collection(services().engine, layer_id, _pairs(),
                                              base=_base(), accept_html=_accept_html()))


@bp.get("/collections/<layer_id>/queryables")
def queryables(layer_id: str):
    return respond(api_collections.queryables(layer_id, _pairs(), base=_base(),
                                              accept_html=_accept_html()))


@bp.get("/collections/<layer_id>/items")
def items(layer_id: str):
    return respond(api_items.items_page(
        services().engine, layer_id, _pairs(), base=_base(), accept_html=_accept_html(),
        if_none_match=request.headers.get("If-None-Match"),
        gzip=accepts_gzip(request.headers.get("Accept-Encoding"))))


@bp.get("/collections/<layer_id>/items/<feature_id>")
def item(layer_id: str, feature_id: str):
    return respond(api_items.item(services().engine, layer_id, feature_id, _pairs(),
                                  base=_base(), accept_html=_accept_html(),
                                  if_none_match=request.headers.get("If-None-Match")))
