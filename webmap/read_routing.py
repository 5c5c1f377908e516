"""Routing each request to the primary or a read replica (GISDB_READ_URL), in front of
everything else (the tile fast path too), so every engine a request is handed follows
one choice (webmap.read_target).

- Writes (POST, PUT, PATCH, DELETE) and the reads that must be consistent (the change
  feed and its stream, the audit log, `/auth/me`, `/healthz`) use the primary. A write's
  answer carries the primary's WAL position after it committed, as the `Gisdb-Lsn`
  header and the `gisdb_lsn` cookie: a read that sends either back is answered by a
  replica that has replayed that position (or the primary, after GISDB_REPLICA_WAIT_MS),
  so the writer reads its write.
- Other reads go to a replica in rotation. Two answers of a replica are not kept: a
  revalidation (`If-None-Match`) that does not match there (the client's copy may be
  newer than a lagging replica's data: the primary decides, so an ETag never goes back
  to an older one), and a 503 DatabaseUnavailable (the replica failed: it leaves the
  rotation and the primary answers).

Each answer names who read it in `Gisdb-Read-From` (`primary`, `replica N`)."""
from __future__ import annotations

import json
import re
from http.cookies import CookieError, SimpleCookie

from flask import Flask

from gisdb.errors import DatabaseUnavailable, InvalidParameter
from gisdb.replicas.lsn import format_lsn, parse_lsn
from gisdb.replicas.router import ReadRouter

from .read_target import read_from
from .wsgi_errors import app_error

LSN_HEADER = "Gisdb-Lsn"
LSN_COOKIE = "gisdb_lsn"
COOKIE_SECONDS = 300
READ_METHODS = ("GET", "HEAD", "OPTIONS")
PRIMARY_READS = re.compile(r"/changes(/stream)?|/collections/[^/]+/changes|/audit|/auth/me|/healthz")
_RETRY_CODE = "DatabaseUnavailable"


def wanted_position(environ: dict) -> int | None:
    """The WAL position a read must see: its `Gisdb-Lsn` header, else its `gisdb_lsn`
    cookie (None: any replica in rotation will do). InvalidParameter when malformed."""
    header = environ.get("HTTP_GISDB_LSN")
    if header is not None:
        return parse_lsn(header)
    raw = environ.get("HTTP_COOKIE")
    if not raw or LSN_COOKIE not in raw:
        return None
    try:
        morsel = SimpleCookie(raw).get(LSN_COOKIE)
    except CookieError:
        morsel = None
    if morsel is None:
        raise InvalidParameter("the gisdb_lsn cookie must hold a WAL position")
    return parse_lsn(morsel.value)


class _Answer:
    """What an inner app started: status and headers, kept until we pass them on."""

    def __init__(self):
        self.status, self.headers, self.exc_info = "500 Internal Server Error", [], None

    def __call__(self, status, headers, exc_info=None):
        self.status, self.headers, self.exc_info = status, list(headers), exc_info
        return lambda _data: None      # the write() callable; Flask never uses it

    @property
    def code(self) -> int:
        return int(self.status.split(" ", 1)[0])

    def send(self, start_response, extra: list) -> None:
        """Start the real response with these headers and `extra`."""
        start_response(self.status, self.headers + extra, self.exc_info)


def _close(body) -> None:
    """Close a WSGI body we drop (the inner app's clean-up runs)."""
    close = getattr(body, "close", None)
    if close is not None:
        close()


class ReadRouting:
    """WSGI middleware choosing the database of each request (see the module)."""

    def __init__(self, app: Flask, wsgi_app, router: ReadRouter):
        self.app, self.wsgi_app, self.router = app, wsgi_app, router

    def __call__(self, environ, start_response):
        """Route the request: a write, a primary read, or a replica read."""
        method = environ.get("REQUEST_METHOD", "GET")
        read_from(None)
        if method not in READ_METHODS:
            return self._write(environ, start_response)
        if PRIMARY_READS.fullmatch(environ.get("PATH_INFO", "")):
            return self._on_primary(environ, start_response)
        try:
            replica = self.router.choose(wanted_position(environ))
        except InvalidParameter as exc:
            return app_error(self.app, environ, start_response, exc)
        if replica is None:
            return self._on_primary(environ, start_response)
        return self._on_replica(replica, environ, start_response)

    def _on_primary(self, environ, start_response):
        """Answer on the primary, saying so."""
        read_from(None)
        answer = _Answer()
        body = self.wsgi_app(environ, answer)
        answer.send(start_response, [("Gisdb-Read-From", "primary")])
        return body

    def _on_replica(self, replica, environ, start_response):
        """Answer on `replica`, unless its answer must come from the primary instead."""
        read_from(replica)
        answer = _Answer()
        body = self.wsgi_app(environ, answer)
        if answer.code == 503 and self._unavailable(body):
            self.router.mark_down(replica, "a read failed: the replica is unavailable")
            return self._on_primary(environ, start_response)
        if answer.code in (200, 204) and environ.get("HTTP_IF_NONE_MATCH"):
            _close(body)                # the client's copy may be newer: the primary decides
            return self._on_primary(environ, start_response)
        answer.send(start_response, [("Gisdb-Read-From", replica.name)])
        return body

    @staticmethod
    def _unavailable(body) -> bool:
        """Whether a 503's JSON names DatabaseUnavailable (not a timeout or a busy
        server, which the primary would not answer better). The body is consumed."""
        try:
            data = b"".join(body)
        finally:
            _close(body)
        try:
            return json.loads(data).get("code") == _RETRY_CODE
        except (ValueError, AttributeError):
            return False

    def _position(self) -> str | None:
        """The primary's position now (None when it cannot say: the write stands, its
        reader may then see a replica's older state until the replica replays it)."""
        try:
            return format_lsn(self.router.primary_position())
        except DatabaseUnavailable:
            return None

    def _write(self, environ, start_response):
        """A write on the primary; a successful one carries the position to read it at."""
        answer = _Answer()
        body = self.wsgi_app(environ, answer)
        extra = [("Gisdb-Read-From", "primary")]
        lsn = self._position() if answer.code < 400 else None
        if lsn is not None:
            extra += [(LSN_HEADER, lsn), ("Set-Cookie", f"{LSN_COOKIE}={lsn}; Path=/; "
                      f"Max-Age={COOKIE_SECONDS}; HttpOnly; SameSite=Lax")]
        answer.send(start_response, extra)
        return body


def install(app: Flask, router: ReadRouter | None) -> None:
    """Put read routing in front of the app (nothing at all without replicas)."""
    if router is not None:
        app.wsgi_app = ReadRouting(app, app.wsgi_app, router)
