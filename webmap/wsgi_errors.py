"""JSON errors answered by the WSGI middlewares in front of Flask (body limit, host
policy, request budget), in the same shape and with the same headers as the app's own
error handlers (`webmap.errors`): `{"code", "description"}`, CORS, no caching."""
from __future__ import annotations

import json
from http import HTTPStatus

from .caching import CACHE_CONTROL
from .cors import CORS

RETRY_AFTER_S = "5"


def json_error(start_response, status: int, code: str, description: str) -> list[bytes]:
    """Start a JSON error response and return its body (a list: one write)."""
    body = json.dumps({"code": code, "description": description}, ensure_ascii=False).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
               ("Cache-Control", CACHE_CONTROL["never"]), *CORS.items()]
    if status == 503:
        headers.append(("Retry-After", RETRY_AFTER_S))
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [body]


def app_error(app, environ: dict, start_response, exc: Exception):
    """Answer `exc` from a middleware with the Flask app's own error handlers (the same
    JSON as from a view), for errors of the system's tree raised in front of Flask."""
    with app.request_context(environ):
        response = app.finalize_request(app.handle_user_exception(exc))
    return response(environ, start_response)
