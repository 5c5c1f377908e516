"""Front-end files: `/vendor/<package>/<path>`, a file of an allowed front-end package
(webmap.vendor), immutable for a year when the URL carries the package's version, else
a day; `/static/<path>`, the map's own scripts and styles, revalidated on every use.
Both in the one web shape (`webmap.responses`): a weak ETag of the file, 304 on a match."""
from __future__ import annotations

import mimetypes
from pathlib import Path

from flask import Blueprint, request
from werkzeug.security import safe_join
from werkzeug.utils import get_content_type

from gisdb.errors import NotFound

from .compression import gzip_if_asked
from .responses import file_document, respond
from .vendor import MEDIA_TYPES, node_modules, package_version, resolve

bp = Blueprint("vendor", __name__)
bp.after_request(gzip_if_asked)
STATIC_DIR = Path(__file__).resolve().parent / "static"


@bp.get("/vendor/<package>/<path:path>")
def vendor_file(package: str, path: str):
    if package.startswith("@"):                       # scoped package: @scope/name/...
        scope_name, _, path = path.partition("/")
        package = package + "/" + scope_name
    root = node_modules()
    target = resolve(package, path, root)
    version = package_version(package, root)
    cache = "vendor_versioned" if version and request.args.get("v") == version else "vendor"
    resp = respond(file_document(target, MEDIA_TYPES[target.suffix.lower()]), cache)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.get("/static/<path:path>")
def static_file(path: str):
    joined = safe_join(str(STATIC_DIR), path)
    if joined is None or not Path(joined).is_file():
        raise NotFound(f"no static file {path[:80]!r}")
    media_type = mimetypes.guess_type(joined)[0] or "application/octet-stream"
    return respond(file_document(Path(joined), get_content_type(media_type, "utf-8")), "static")
