"""The OpenAPI paths of the change feed (`/collections/{layer}/changes`, `/changes`).
The SSE stream (`/changes/stream`) is not among them: OpenAPI 3.0 cannot describe an
endless text/event-stream, and a generic client would wait on it for ever; the README
and docs/change_feed.md describe it."""
from __future__ import annotations

from .openapi_services import JSON_OBJECT, LAYER_LIST, get, layer_param, param

SINCE = param("since", "Token from a page's `next` (or `now`); absent: from the oldest kept.",
              {"type": "string", "maxLength": 64})
LIMIT = param("limit", "Changes per page.", {"type": "integer", "minimum": 1, "maximum": 1000})


def feed_paths() -> dict:
    """The feed's pages, of one layer and across layers."""
    return {
        "/collections/{collectionId}/changes": {"get": get(
            "Committed changes of a layer after a token, in commit order", "feed_layerChanges",
            [layer_param(), SINCE, LIMIT], JSON_OBJECT)},
        "/changes": {"get": get("Committed changes of several layers after a token", "feed_changes",
                                [LAYER_LIST, SINCE, LIMIT], JSON_OBJECT)},
    }
