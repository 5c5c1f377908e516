"""A plain static file server that honours HTTP Range (what any static host or CDN does
and Python's http.server does not): for the tests that read a PMTiles archive over HTTP
the way MapLibre's pmtiles protocol does. Standard library only; it records the Range
header of every request so a test can show that a reader fetched parts, not the file."""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single `Range: bytes=a-b` (a suffix `-n` too) within a
    file of `size` bytes; None when absent. ValueError when it cannot be satisfied."""
    if header is None:
        return None
    found = _RANGE.fullmatch(header.strip())
    if found is None or found.groups() == ("", ""):
        raise ValueError(header)
    first, last = found.groups()
    if first == "":                                   # the last n bytes
        return max(size - int(last), 0), size - 1
    start, end = int(first), min(int(last) if last else size - 1, size - 1)
    if start >= size or start > end:
        raise ValueError(header)
    return start, end


def _handler(root: Path, log: list):
    class RangeHandler(BaseHTTPRequestHandler):
        """GET/HEAD of files under `root`, whole or by one byte range."""

        def do_HEAD(self):  # noqa: N802 (the standard library's name)
            self._answer(body=False)

        def do_GET(self):  # noqa: N802
            self._answer(body=True)

        def _answer(self, body: bool) -> None:
            path = (root / self.path.split("?", 1)[0].lstrip("/")).resolve()
            if root not in path.parents or not path.is_file():
                self.send_error(404)
                return
            data = path.read_bytes()
            log.append(self.headers.get("Range"))
            try:
                span = byte_range(self.headers.get("Range"), len(data))
            except ValueError:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            part = data if span is None else data[span[0]:span[1] + 1]
            self.send_response(200 if span is None else 206)
            if span is not None:
                self.send_header("Content-Range", f"bytes {span[0]}-{span[1]}/{len(data)}")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(part)))
            self.end_headers()
            if body:
                self.wfile.write(part)

        def log_message(self, *args):
            """Quiet: the test reads `log` instead."""

    return RangeHandler


@contextmanager
def range_server(root: Path) -> Iterator[tuple[str, list]]:
    """(base URL, the Range headers received) of a static server of `root` in a thread."""
    log: list = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(root.resolve(), log))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", log
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
