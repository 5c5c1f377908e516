"""What the core hands to the web layer: status, media type, headers and a body that
is bytes, a stream of bytes, or a document (dict) the view renders as JSON or HTML."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

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
