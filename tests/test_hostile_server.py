"""Hostile requests against the real server (`gisdb serve`, Granian): a chunked body of a
few hundred megabytes is refused with a 413 JSON as soon as it passes the limit while
the workers' memory stays flat; ten heavy requests in parallel neither outlive their
deadline nor hold up a light request; over-long request lines and headers get Granian's
own answers, within the limits the README gives."""
from __future__ import annotations

import json
import select
import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from served_app import descendants, http_get, memory_kb, serving

BODY_LIMIT = 1_048_576
UPLOAD_BYTES = 300 * 1024 * 1024
REQUEST_BUDGET_MS = 4000


@pytest.fixture(scope="module")
def served(settings, sample_city, tmp_path_factory):
    log = tmp_path_factory.mktemp("hostile") / "serve.log"
    env = {"GISDB_MAX_BODY_BYTES": str(BODY_LIMIT),
           "GISDB_REQUEST_TIMEOUT_MS": str(REQUEST_BUDGET_MS)}
    with serving(settings, log, workers=2, threads=2, env=env) as (url, proc):
        yield url, proc


def _chunked_upload(url: str, path: str, total: int, piece: int = 1 << 20) -> tuple[int, bytes]:
    """POST `total` bytes chunked, generated on the fly; stop sending as soon as the
    server answers. Returns (bytes sent, the raw response)."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n".encode())
    chunk = b"%x\r\n" % piece + b"[" * piece + b"\r\n"
    sent = 0
    try:
        while sent < total and not select.select([sock], [], [], 0)[0]:
            sock.sendall(chunk)
            sent += piece
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass                            # the server stopped reading: its answer is waiting
    answer = b""
    try:
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    except (ConnectionResetError, socket.timeout):
        pass
    sock.close()
    return sent, answer


def test_chunked_body_is_refused_while_streaming_with_flat_memory(served):
    url, proc = served
    processes = descendants(proc.pid)
    before = {pid: memory_kb(pid) for pid in processes}
    sent, answer = _chunked_upload(url, "/query/within", UPLOAD_BYTES)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:300]
    assert json.loads(body)["code"] == "PayloadTooLarge"
    assert sent < UPLOAD_BYTES / 4                        # answered long before the end
    grown = {pid: memory_kb(pid)["VmHWM"] - before[pid]["VmHWM"] for pid in processes}
    assert max(grown.values()) < 64 * 1024, grown         # peak RSS: < 64 MB more, of 300 MB sent
    status, headers, body = http_get(url + "/healthz")
    assert status == 200


def test_declared_length_over_the_limit_is_refused_before_reading(served):
    url, _ = served
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST /query/within HTTP/1.1\r\nHost: {host}:{port}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {10 ** 9}\r\n\r\n".encode())
        answer = sock.recv(65536)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413") and b"access-control-allow-origin: *" in head.lower()
    assert json.loads(body)["code"] == "PayloadTooLarge"


def _light_latencies(url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.monotonic()
        status, _, _ = http_get(url + "/collections/roads/items?limit=1&f=json", timeout=30)
        out.append(time.monotonic() - started)
        assert status == 200
    return out


def _hold_lock(engine, table: str, locked: threading.Event, release: threading.Event) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        locked.set()
        release.wait(60)


def test_heavy_requests_in_parallel_leave_light_ones_their_usual_time(served, engine):
    """Stats over a locked table is as slow as a request can be (it waits out its whole
    deadline). Ten at once: at most one per worker process runs, the others are told to
    come back (503 + Retry-After); every one ends within its deadline, not the statement
    timeout (15 s); and a light page of features answers in its usual time meanwhile."""
    url, _ = served
    usual = statistics.median(_light_latencies(url, 5))
    locked, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(engine, "construction.buildings", locked, release))
    holder.start()
    try:
        assert locked.wait(10)

        def heavy(_):
            started = time.monotonic()
            status, headers, body = http_get(url + "/query/stats?layer=buildings&by=ward", timeout=60)
            return status, headers.get("Retry-After"), json.loads(body)["code"], time.monotonic() - started

        with ThreadPoolExecutor(10) as pool:
            results = pool.map(heavy, range(10))
            time.sleep(0.5)                                   # the heavy ones are in
            during = _light_latencies(url, 5)
            results = list(results)
    finally:
        release.set()
        holder.join()
    assert max(during) < max(1.0, 5 * usual), (usual, during)
    assert all(status == 503 and retry for status, retry, _, _ in results), results
    codes = [code for _, _, code, _ in results]
    assert codes.count("ServerBusy") >= 8 and set(codes) <= {"ServerBusy", "Timeout"}, codes
    assert max(took for *_, took in results) < REQUEST_BUDGET_MS / 1000 + 2.5, results


def _raw(url: str, request: bytes) -> bytes:
    """The whole answer to raw request bytes (the connection is closed after it)."""
    host, port = url.removeprefix("http://").split(":")
    answer = b""
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        try:
            sock.sendall(request)
            while data := sock.recv(65536):
                answer += data
        except (BrokenPipeError, ConnectionResetError):
            pass
    return answer


def test_over_long_request_lines_and_headers_are_granians_answers(served):
    """The limits the README's security paragraph gives: a request target up to 65,534
    bytes reaches the app (a JSON answer); past it Granian's HTTP parser (hyper) answers
    414, past 100 header fields or ~400 KB of headers 431, with an empty body and no
    CORS header, before any application code runs."""
    url, _ = served
    end = b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    target = b"/collections/roads/items?x="
    reached = _raw(url, b"GET " + target + b"a" * (60_000 - len(target)) + end)
    assert reached.startswith(b"HTTP/1.1 400")
    assert json.loads(reached.partition(b"\r\n\r\n")[2])["code"] == "InvalidParameterValue"
    too_long = _raw(url, b"GET " + target + b"a" * 70_000 + end)
    assert too_long.startswith(b"HTTP/1.1 414") and too_long.endswith(b"\r\n\r\n")
    fields = b"".join(b"X-F%d: 1\r\n" % i for i in range(100))
    many = _raw(url, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + fields + b"Connection: close\r\n\r\n")
    big = _raw(url, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 1_000_000
               + b"\r\nConnection: close\r\n\r\n")
    for answer in (many, big):
        assert answer.startswith(b"HTTP/1.1 431") and answer.endswith(b"\r\n\r\n")
        assert b"access-control-allow-origin" not in answer.lower()
