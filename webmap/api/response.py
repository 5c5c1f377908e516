"""What a core hands to the web layer: status, media type, content headers, a body
that is bytes, a stream of bytes, or a document (dict) the view renders as JSON or HTML,
and the tag of what it shows. The web layer alone writes the ETag and Cache-Control
headers and decides a 304 (webmap.responses)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

GEOJSON = "application/geo+json"
JSON = "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA_JSON = "application/schema+json"
HTML = "text/html"


@dataclass
class ApiResponse:
    status: int = 200
    media_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] | None = None
    document: dict | None = None          # rendered by the view (JSON, or HTML template)
    template: str | None = None           # HTML template of `document`
    etag: str | None = None               # tag of what it shows (webmap.caching)
    # A feature's row version (gisdb.editing.versions): the ETag is then strong,
    # `"<version>.<tag>"`, and usable in If-Match.
    version: str | None = None
    # Content that costs a query: made only when the answer is not a 304. `release`
    # frees what the core holds for it (a connection) when it is not made.
    later: Callable[[], "ApiResponse"] | None = None
    release: Callable[[], None] | None = None
