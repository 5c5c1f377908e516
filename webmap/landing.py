"""Landing page: the layers by group (JSON, or HTML for browsers)."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request

from layers.layer import GROUPS
from layers.registry import layers_by_group

bp = Blueprint("landing", __name__)


def wants_html() -> bool:
    fmt = request.args.get("f")
    if fmt:
        return fmt == "html"
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html" and request.accept_mimetypes["text/html"] > request.accept_mimetypes["application/json"]


@bp.get("/")
def landing():
    groups = [{"id": gid, "title_vi": GROUPS[gid][0], "title_en": GROUPS[gid][1],
               "layers": [{"id": l.id, "title_vi": l.title_vi, "title_en": l.title_en,
                           "geometry": l.geometry_type} for l in layers]}
              for gid, layers in layers_by_group().items()]
    if wants_html():
        return render_template("landing.html", groups=groups)
    return jsonify({"title": "Da Nang urban GIS", "groups": groups})
