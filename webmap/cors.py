"""Cross-origin access: the one CORS policy of the service.

Everything the server offers is public and read-only (POST only carries a query's
geometry), and its users are other origins: the Intelligent Operation Centre's
dashboards, citizen apps, MapLibre and OpenLayers pages that read features and tiles.
So every response allows any origin and exposes the headers clients act on (ETag for
revalidation, Content-Crs, Link for paging, Content-Encoding), and a preflight names
the methods and request headers the API accepts (`Authorization` for a bearer key or
token: no cookie is ever read, so any origin may send one)."""
from __future__ import annotations

from flask import Flask, Response, request

CORS = {"Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": "ETag, Content-Crs, Link, Content-Encoding, "
                                         "WWW-Authenticate"}
PREFLIGHT = {"Access-Control-Allow-Methods": "GET, HEAD, POST, OPTIONS",
             "Access-Control-Allow-Headers": "Accept, Accept-Encoding, If-None-Match, Content-Type, "
                                             "Authorization",
             "Access-Control-Max-Age": "86400"}


def add_cors(response: Response) -> Response:
    response.headers.update(CORS)
    if request.method == "OPTIONS":
        response.headers.update(PREFLIGHT)
    return response


def install(app: Flask) -> None:
    """Every response of the app, error responses included, carries the policy."""
    app.after_request(add_cors)
