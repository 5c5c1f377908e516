"""`gisdb serve` as shipped, in its own process group on a free port, for the tests that
need the real HTTP server (Granian): start, wait for /healthz, stop; and the worker
processes' memory, read from /proc."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

PROJECT = Path(__file__).resolve().parents[1]
GISDB = Path(sys.executable).with_name("gisdb")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, headers: dict | None = None, timeout: float = 60):
    """(status, headers, body) of a GET; HTTP errors are answers too."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


@contextmanager
def in_thread(app) -> Iterator[str]:
    """'127.0.0.1:PORT' of the test app served by werkzeug in a thread (in process, so it
    shares the test's database and fixtures; for clients that need a real socket)."""
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@contextmanager
def serving(settings, log: Path, *, workers: int = 2, threads: int = 2,
            env: dict | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """(base URL, process) of `gisdb serve --no-prepare` on the test database; `env`
    adds to or overrides its environment (e.g. its own GISDB_DATA_DIR)."""
    port = free_port()
    full_env = dict(os.environ, GISDB_DATABASE_URL=settings.database_url,
                    GISDB_DATA_DIR=str(settings.data_dir))
    if settings.web_database_url:       # served as the shipped server is: the read role
        full_env["GISDB_WEB_DATABASE_URL"] = settings.web_database_url
    full_env.update(env or {})
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(GISDB), "serve", "--no-prepare", "--host", "127.0.0.1",
                                 "--port", str(port), "--workers", str(workers),
                                 "--threads", str(threads)],
                                cwd=PROJECT, env=full_env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield url, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, within_s: float = 60) -> None:
    deadline = time.monotonic() + within_s
    while True:
        try:
            if http_get(url + "/healthz", timeout=5)[0] == 200:
                return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("gisdb serve did not start:\n" + log.read_text(errors="replace")[-3000:])
        time.sleep(0.2)


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children, ...)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of a process, in kB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out
