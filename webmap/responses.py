"""The one way a core's answer becomes HTTP: the web layer alone decides 200/204/304
and writes the caching headers (webmap.caching). Every endpoint ends in the same
shape, `(status, headers, body, media type)`: the Flask views turn it into a Response
here, the WSGI tile fast path (webmap.tile_fastpath) writes it itself."""
from __future__ import annotations

import json
from pathlib import Path

from flask import Response, current_app, render_template, request

from .api.response import ApiResponse
from .authz import caller_scope
from .caching import CACHE_CONTROL, etag_header, make_tag, matches, versioned_etag_header, versioned_tag
from .vendor import vendor_url

HTML_TYPE = "text/html; charset=utf-8"


def flask_response(status: int, headers: dict, body, media_type: str | None) -> Response:
    """The Flask Response of an answer tuple (a body without media type: 204 / 304)."""
    if media_type is None:              # no body, so no Content-Type either
        response = current_app.response_class(status=status, headers=headers)
        del response.headers["Content-Type"]
        return response
    return current_app.response_class(body, status=status, headers=headers,
                                      content_type=media_type, direct_passthrough=True)


def answer(r: ApiResponse, if_none_match: str | None, cache: str) -> tuple:
    """(status, headers, body, media type) of a core's answer under the cache policy
    named `cache`: 304 when the client's copy is current (the content is then never
    made), else the content rendered (JSON, HTML template, bytes or a stream)."""
    policy = {"Cache-Control": CACHE_CONTROL[cache]}
    if r.etag is not None:
        tag = r.etag if r.version is None else versioned_tag(r.version, r.etag)
        policy["ETag"] = etag_header(tag) if r.version is None else versioned_etag_header(tag)
        if matches(if_none_match, tag):
            if r.release is not None:
                r.release()
            return 304, {**r.headers, **policy}, b"", None
    made = r.later() if r.later is not None else r
    return (made.status, {**made.headers, **policy}, *_content(made))


def respond(r: ApiResponse, cache: str) -> Response:
    """The Flask response of a core's answer (see `answer`). What a caller with a
    credential, or with layers hidden from it, sees is tagged with that scope; a
    credential's answers are private to it."""
    cache = _scoped(r, cache)
    return flask_response(*answer(r, request.headers.get("If-None-Match"), cache))


def _scoped(r: ApiResponse, cache: str) -> str:
    """Mix the caller's scope into `r`'s tag; the cache policy for that caller."""
    scope = caller_scope()
    if scope is not None:
        r.etag = None if r.etag is None else make_tag(r.etag, scope)
        cache = "private" if scope.startswith("principal") else cache
    return cache


def respond_write(r: ApiResponse) -> Response:
    """The Flask response of a write: never stored, never a 304; its ETag (the new
    version's) is the one the same caller's `GET` of the feature answers."""
    _scoped(r, "never")
    return flask_response(*answer(r, None, "never"))


def json_document(doc: dict, *, tagged: bool = True) -> ApiResponse:
    """A JSON document a view assembles (TileJSON, tile matrix sets, the raster catalog,
    /healthz) as a core's answer: the bytes Flask's `jsonify` writes, tagged by those
    bytes (what it says is what it shows), so it too takes its 304 and headers from
    `respond`. `tagged=False` for answers that must never be revalidated (health)."""
    body = current_app.json.response(doc).get_data()
    return ApiResponse(media_type=current_app.json.mimetype, body=body,
                       etag=make_tag(body.decode()) if tagged else None)


def file_document(path: Path, media_type: str) -> ApiResponse:
    """A file on disk (a front-end asset) as a core's answer: tagged by its path, size and
    modification time, so a current copy is a 304 that reads nothing; the bytes are read
    only when sent."""
    stat = path.stat()
    return ApiResponse(etag=make_tag(path, stat.st_mtime_ns, stat.st_size),
                       later=lambda: ApiResponse(media_type=media_type, body=path.read_bytes()))


def _content(r: ApiResponse) -> tuple:
    """(body, content type): a document rendered as JSON or with its HTML template."""
    if r.document is None:
        return r.body, r.media_type
    doc = dict(r.document)
    ctx = doc.pop("_ctx", {})
    if r.media_type == "text/html":
        return render_template(r.template, doc=doc, vendor_url=vendor_url, **ctx), HTML_TYPE
    return json.dumps(doc, ensure_ascii=False).encode(), r.media_type
