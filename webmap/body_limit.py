"""One server-wide bound on request bodies (`GISDB_MAX_BODY_BYTES`), enforced while the
body streams in, in front of everything else the app does.

A declared `Content-Length` over the limit is answered 413 before a byte is read. A
chunked body (no length) is read through `LimitedInput`, which counts what the app
reads and raises `BodyTooLarge` (413 through the app's error handlers) as soon as the
count passes the limit: a worker never holds more than the limit plus one read of a
hostile body, however long the client keeps sending."""
from __future__ import annotations

from flask import Flask

from gisdb.errors import BodyTooLarge

from .wsgi_errors import json_error

READ_CHUNK = 64 * 1024


class LimitedInput:
    """A file-like `wsgi.input` that refuses to read past `limit` bytes."""

    def __init__(self, stream, limit: int):
        self._stream = stream
        self._limit = limit
        self._read = 0

    def _count(self, data: bytes) -> bytes:
        self._read += len(data)
        if self._read > self._limit:
            raise BodyTooLarge(f"the request body is larger than {self._limit} bytes")
        return data

    def read(self, size: int | None = -1) -> bytes:
        if size is not None and size >= 0:
            return self._count(self._stream.read(min(size, self._limit - self._read + 1)))
        parts = []                      # "everything": in chunks, never unbounded
        while chunk := self._count(self._stream.read(READ_CHUNK)):
            parts.append(chunk)
        return b"".join(parts)

    def readline(self, size: int | None = -1) -> bytes:
        bound = self._limit - self._read + 1
        return self._count(self._stream.readline(bound if size is None or size < 0
                                                 else min(size, bound)))

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self):
        return iter(self.readline, b"")


def declared_length(environ) -> int | None:
    """The Content-Length of the request, None when absent or unreadable (chunked)."""
    try:
        return int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


class BodyLimit:
    """WSGI middleware: 413 JSON for a declared length over `limit`, a counting input
    for the rest."""

    def __init__(self, wsgi_app, limit: int):
        self.wsgi_app = wsgi_app
        self.limit = limit

    def __call__(self, environ, start_response):
        length = declared_length(environ)
        if length is not None and length > self.limit:
            return json_error(start_response, 413, BodyTooLarge.code,
                              f"the request body is larger than {self.limit} bytes")
        stream = environ.get("wsgi.input")
        if stream is not None and length != 0:
            environ["wsgi.input"] = LimitedInput(stream, self.limit)
        return self.wsgi_app(environ, start_response)


def install(app: Flask, limit: int) -> None:
    """Put the body limit in front of the app's WSGI callable."""
    app.wsgi_app = BodyLimit(app.wsgi_app, limit)
