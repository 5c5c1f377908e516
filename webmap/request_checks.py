"""Checks on a request's line and headers before the app sees them.

Host: every absolute link (self, next, alternate, tiles URLs) is built from the request's
host, so an untrusted `Host: evil.example` would put that host into documents that
caches then keep. With `GISDB_PUBLIC_URL` set, every request is served as if sent to
that URL (links come from it, whatever the Host header says). Otherwise the Host must
be trusted: `GISDB_TRUSTED_HOSTS` (names, any port, or `name:port`), the server's own
`GISDB_HOST:GISDB_PORT`, and `localhost`, `127.0.0.1`, `[::1]` on any port; any other
Host is a 400 JSON. ETags of documents with links include the host they were built for.

NUL: a `%00` in the path or the query string is a 400 JSON: PostgreSQL text cannot
hold it, and no valid value of this API contains it."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask

from gisdb.settings import Settings

from .wsgi_errors import json_error

LOCAL_NAMES = ("localhost", "127.0.0.1", "[::1]")


def split_host(host: str) -> tuple[str, str]:
    """'Name:port' -> ('name', 'port'); IPv6 literals keep their brackets. A Host that
    is not `name[:digits]` (e.g. `127.0.0.1:80@evil.example`, `[::1]evil`) gives ('', '')."""
    host = host.strip().lower()
    if host.startswith("["):
        name, _, rest = host.partition("]")
        if rest and not rest.startswith(":"):
            return "", ""
        name, port = name + "]", rest.removeprefix(":")
    else:
        name, _, port = host.partition(":")
    if port and not (port.isascii() and port.isdigit()):
        return "", ""
    return name, port


def trusted_hosts(settings: Settings) -> frozenset[str]:
    """Entries a Host may match: bare names (any port) and `name:port`."""
    own = f"{settings.host}:{settings.port}".lower()
    return frozenset({*LOCAL_NAMES, own, *settings.trusted_hosts})


def is_trusted(host: str, trusted: frozenset[str]) -> bool:
    name, port = split_host(host)
    return bool(name) and (name in trusted or f"{name}:{port}" in trusted)


def has_nul(environ) -> bool:
    """True when the path or the query string carries a NUL character."""
    return ("\x00" in environ.get("PATH_INFO", "")
            or "%00" in environ.get("QUERY_STRING", "")
            or "\x00" in environ.get("QUERY_STRING", ""))


class RequestChecks:
    """WSGI middleware: the public URL or a trusted Host; no NUL characters."""

    def __init__(self, wsgi_app, settings: Settings):
        self.wsgi_app = wsgi_app
        self.trusted = trusted_hosts(settings)
        self.public = urlsplit(settings.public_url) if settings.public_url else None

    def __call__(self, environ, start_response):
        if self.public is not None:
            environ["wsgi.url_scheme"] = self.public.scheme or "http"
            environ["HTTP_HOST"] = self.public.netloc
            environ["SCRIPT_NAME"] = self.public.path.rstrip("/") + environ.get("SCRIPT_NAME", "")
        elif not is_trusted(environ.get("HTTP_HOST") or environ.get("SERVER_NAME", ""),
                            self.trusted):
            return json_error(start_response, 400, "UntrustedHost",
                              "the Host header names a host this server does not serve; "
                              "see GISDB_PUBLIC_URL and GISDB_TRUSTED_HOSTS")
        if has_nul(environ):
            return json_error(start_response, 400, "InvalidParameterValue",
                              "the request contains a NUL character (%00)")
        return self.wsgi_app(environ, start_response)


def install(app: Flask, settings: Settings) -> None:
    """Put the checks in front of the app's WSGI callable."""
    app.wsgi_app = RequestChecks(app.wsgi_app, settings)
