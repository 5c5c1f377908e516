"""Front-end libraries served by the app itself at `/vendor/<package>/<path>`: which
packages and files may be served, and their versioned URLs (the view is
`webmap.vendor_views`).

City offices often have no internet, so no page of this app may load a script, a style
sheet or an icon from a CDN. The npm packages named in `package.json` (installed into
`node_modules` by `make setup`) are the allow-list: nothing else under `node_modules`
is reachable, only front-end file types are served, and a path that leaves its package
is refused. A URL carrying `?v=<the package's version>` (as `vendor_url` builds them) is
immutable and cached for a year; without it, a day plus an ETag.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from flask import current_app, has_app_context
from werkzeug.security import safe_join

from gisdb.errors import InvalidParameter, NotFound

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# What a browser may fetch from a front-end package, with the media type to send.
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".png": "image/png",
    ".gif": "image/gif",
    ".jpg": "image/jpeg",
    ".svg": "image/svg+xml",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".eot": "application/vnd.ms-fontobject",
    ".wasm": "application/wasm",
    ".pbf": "application/x-protobuf",
}


def node_modules() -> Path:
    """Where the npm packages live (overridable with the NODE_MODULES config key)."""
    configured = current_app.config.get("NODE_MODULES") if has_app_context() else None
    return Path(configured or PROJECT_ROOT / "node_modules")


@lru_cache(maxsize=4)
def allowed_packages(package_json: Path = PROJECT_ROOT / "package.json") -> frozenset[str]:
    """The dependencies named in the project's package.json: the allow-list."""
    try:
        deps = json.loads(package_json.read_text(encoding="utf-8")).get("dependencies", {})
    except (OSError, ValueError):
        return frozenset()
    return frozenset(deps)


def package_version(package: str, root: Path | None = None) -> str:
    """The installed version of an npm package ('' when it is not installed)."""
    root = root or node_modules()
    try:
        meta = json.loads((root / package / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return str(meta.get("version", ""))


def vendor_url(package: str, path: str, root: Path | None = None) -> str:
    """The app-relative URL of a file of an npm package, versioned for long caching."""
    version = package_version(package, root)
    return f"/vendor/{package}/{path}" + (f"?v={version}" if version else "")


def resolve(package: str, path: str, root: Path) -> Path:
    """The file `path` inside the allowed `package`; NotFound / InvalidParameter otherwise."""
    if package not in allowed_packages():
        raise NotFound(f"{package!r} is not a front-end package of this app")
    suffix = Path(path).suffix.lower()
    if suffix not in MEDIA_TYPES:
        raise NotFound(f"files of type {suffix or '(none)'!r} are not served from packages")
    package_dir = root / package
    joined = safe_join(str(package_dir), path)
    if joined is None or "\\" in path:
        raise InvalidParameter("the path leaves the package")
    target = Path(joined).resolve()
    if not target.is_relative_to(package_dir.resolve()):
        raise InvalidParameter("the path leaves the package")
    if not package_dir.is_dir():
        raise NotFound(f"front-end package {package!r} is not installed (run `make setup`)")
    if not target.is_file():
        raise NotFound(f"{package}/{path} does not exist")
    return target
