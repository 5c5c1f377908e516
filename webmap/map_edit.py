"""What the planners' map needs for editing: its own scripts and style sheet, the
endpoints the edit tools call, and the drawing library they load only after a user with
an edit role signs in (anonymous visitors never download it).

The edit tools themselves live in `static/map/edit*.js`: sign-in with an API key
(`/auth/me`), attribute forms built from `/collections/{layer}/schema`, geometry editing
and drawing with snapping (Leaflet-Geoman, served from npm by `webmap.vendor`), saves
through OGC API - Features Part 4 with `If-Match`, and the conflict dialog on a 412.
"""
from __future__ import annotations

from .vendor import vendor_url

EDIT_SCRIPTS = ("edit_strings.js", "edit_auth.js", "edit_form.js", "edit_dialogs.js", "edit_geometry.js", "edit.js")
EDIT_STYLES = ("edit.css",)
GEOMAN = "@geoman-io/leaflet-geoman-free"
# layers whose features in view are offered for snapping while drawing or moving vertices
SNAP_LAYERS = ("parcels", "roads")


def edit_config() -> dict:
    """The `edit` part of the page's config: endpoints, the drawing library's URLs, and
    the layers to snap to."""
    return {
        "endpoints": {"me": "/auth/me", "schema": "/collections/{layer}/schema",
                      "items": "/collections/{layer}/items", "audit": "/audit"},
        "library": {"script": vendor_url(GEOMAN, "dist/leaflet-geoman.min.js"),
                    "style": vendor_url(GEOMAN, "dist/leaflet-geoman.css")},
        "snap_layers": list(SNAP_LAYERS),
    }
