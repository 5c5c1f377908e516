"""`/vendor/<package>/<path>`: a file of an allowed front-end package (webmap.vendor),
immutable for a year when the URL carries the package's version, else a day plus an
ETag."""
from __future__ import annotations

from flask import Blueprint, request, send_file

from .caching import CACHE_CONTROL
from .compression import gzip_if_asked
from .vendor import MEDIA_TYPES, node_modules, package_version, resolve

bp = Blueprint("vendor", __name__)
bp.after_request(gzip_if_asked)


@bp.get("/vendor/<package>/<path:path>")
def vendor_file(package: str, path: str):
    if package.startswith("@"):                       # scoped package: @scope/name/...
        scope_name, _, path = path.partition("/")
        package = package + "/" + scope_name
    root = node_modules()
    target = resolve(package, path, root)
    resp = send_file(target, mimetype=MEDIA_TYPES[target.suffix.lower()], conditional=True,
                     etag=True, max_age=None)
    version = package_version(package, root)
    if version and request.args.get("v") == version:
        resp.headers["Cache-Control"] = CACHE_CONTROL["vendor_versioned"]
    else:
        resp.headers["Cache-Control"] = CACHE_CONTROL["vendor"]
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp
