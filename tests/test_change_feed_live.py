"""The change feed against a running `gisdb serve` (Granian), with real consumers: one
follows the tokens while an import and plain-SQL edits (some rolled back) happen at
once, and must see every committed change exactly once and nothing else; a killed
import leaves no event; an SSE client gets events live, resumes with Last-Event-ID,
and live streams are bounded without starving ordinary requests."""
from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from feed_support import add_incident, add_parcel, committed_changes, feed_engine, feed_settings  # noqa: F401
from import_support import write_parcels
from served_app import http_get, serving
from webmap.change_stream import HEARTBEAT_S

PROJECT = Path(__file__).resolve().parents[1]
LAYERS = ("parcels", "incidents")


@pytest.fixture(scope="module")
def server(feed_settings, tmp_path_factory):
    log = tmp_path_factory.mktemp("feedlive") / "serve.log"
    with serving(feed_settings, log, workers=1, threads=1, env={"GISDB_MAX_STREAMS": "2"}) as (url, _):
        yield url


def get_json(url: str) -> tuple[int, dict]:
    status, _, body = http_get(url, timeout=30)
    return status, json.loads(body)


def tip(server: str) -> str:
    return get_json(server + "/changes?since=now")[1]["next"]


def _env(settings) -> dict:
    return {**os.environ, "GISDB_DATABASE_URL": settings.database_url,
            "GISDB_DATA_DIR": str(settings.data_dir)}


def _import(settings, path: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "from scripts.cli import main; main()", "import",
                             "parcels", str(path), "--mode", "upsert", "--chunk-size", "2000"],
                            cwd=PROJECT, env=_env(settings), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


class Consumer(threading.Thread):
    """Follows /changes from a token until told to stop, then drains the feed."""

    def __init__(self, server: str, since: str):
        super().__init__(daemon=True)
        self.server, self.token, self.seen, self.stop, self.error = server, since, [], threading.Event(), None

    def read(self) -> bool:
        status, doc = get_json(f"{self.server}/changes?layers={','.join(LAYERS)}&limit=200&since={self.token}")
        assert status == 200, doc
        self.seen += doc["changes"]
        self.token = doc["next"]
        return doc["more"]

    def run(self):
        try:
            while not self.stop.is_set():
                if not self.read():
                    time.sleep(0.05)
            while self.read():
                pass
        except BaseException as exc:        # reported by the test
            self.error = exc


def _edits(engine, rolled_back: list[int]) -> None:
    """Thirty small transactions on two layers, every third one rolled back."""
    for i in range(30):
        with engine.connect() as conn:
            tx = conn.begin()
            if i % 2:
                add_incident(conn, f"LIVE-{i}", severity=4 if i % 3 == 0 else 1)
            else:
                add_parcel(conn, 5000 + i)
            if i % 3 == 0:
                tx.rollback()
                rolled_back.append(i)
            else:
                tx.commit()


def test_a_consumer_sees_every_committed_change_once_during_an_import_and_edits(
        server, feed_settings, feed_engine, tmp_path):
    before = (committed_changes(feed_engine, LAYERS) or [0])[-1]
    consumer = Consumer(server, tip(server))
    consumer.start()
    importer = _import(feed_settings, write_parcels(tmp_path / "survey.gpkg", 1500, driver="GPKG"))
    rolled_back: list[int] = []
    editor = threading.Thread(target=_edits, args=(feed_engine, rolled_back))
    editor.start()
    editor.join(120)
    _, err = importer.communicate(timeout=300)
    assert importer.returncode == 0, err[-2000:]
    consumer.stop.set()
    consumer.join(60)
    assert consumer.error is None, consumer.error
    ids = [c["change"] for c in consumer.seen]
    assert len(ids) == len(set(ids)), "a change was handed out twice"
    assert sorted(ids) == committed_changes(feed_engine, LAYERS, after=before)
    assert len(ids) >= 1500 + 20 and len(rolled_back) == 10
    uncommitted = [c for c in consumer.seen if c["feature"] and (
        c["feature"]["properties"].get("parcel_no") in {5000 + i for i in rolled_back}
        or c["feature"]["properties"].get("severity") == 4)]
    assert uncommitted == []
    imported = [c for c in consumer.seen if c["source"] != "sql" or c["feature"]["properties"].get("sheet_no") == 12]
    assert len(imported) >= 1500


class SseClient:
    """A plain HTTP client reading a text/event-stream line by line."""

    def __init__(self, server: str, path: str, headers: dict | None = None):
        parts = urlsplit(server)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.conn.request("GET", path, headers={"Accept": "text/event-stream", **(headers or {})})
        self.response = self.conn.getresponse()

    def next_event(self) -> dict:
        """The next event (comments and heartbeats skipped)."""
        event: dict = {}
        while True:
            line = self.response.fp.readline().decode().rstrip("\n")
            if line == "" and "data" in event:
                return event
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                event[name] = value

    def close(self) -> None:
        self.conn.close()


def test_sse_delivers_live_and_resumes_with_last_event_id(server, feed_engine):
    stream = SseClient(server, "/changes/stream?layers=parcels&since=now")
    assert stream.response.status == 200
    assert stream.response.getheader("Content-Type").startswith("text/event-stream")
    with feed_engine.begin() as conn:
        first = add_parcel(conn, 7001)
    started = time.monotonic()
    event = stream.next_event()
    assert time.monotonic() - started < 5                 # woken by the commit, not a poll
    assert event["event"] == "change" and json.loads(event["data"])["id"] == first
    stream.close()
    with feed_engine.begin() as conn:
        second = add_parcel(conn, 7002)
        third = add_incident(conn, "SSE-1")
    resumed = SseClient(server, "/changes/stream?layers=parcels,incidents&since=now",
                        headers={"Last-Event-ID": event["id"]})
    got = [json.loads(resumed.next_event()["data"]) for _ in range(2)]
    assert [(c["layer"], c["id"]) for c in got] == [("parcels", second), ("incidents", third)]
    resumed.close()


def test_streams_are_bounded_and_do_not_starve_requests(server):
    """With one request thread and two stream slots: two streams live, a third is a 503
    JSON at once, and pages of the feed still answer quickly."""
    streams, deadline = [], time.monotonic() + 3 * HEARTBEAT_S
    while len(streams) < 2:         # a closed client's slot is freed at its next heartbeat
        stream = SseClient(server, "/changes/stream?since=now")
        if stream.response.status == 200:
            streams.append(stream)
        else:
            stream.close()
            assert time.monotonic() < deadline, "the slots of closed streams were never freed"
            time.sleep(0.5)
    third = SseClient(server, "/changes/stream?since=now")
    assert third.response.status == 503
    assert json.loads(third.response.read())["code"] == "ServerBusy"
    third.close()
    started = time.monotonic()
    status, _ = get_json(server + "/collections/parcels/changes?since=now")
    assert status == 200 and time.monotonic() - started < 2
    for s in streams:
        s.close()


@pytest.mark.parametrize("query,headers", [("since=garbage", {}), ("layers=nope", {}),
                                           ("", {"Last-Event-ID": "AAAA"})])
def test_a_bad_stream_request_is_json_400(server, query, headers):
    stream = SseClient(server, "/changes/stream?" + query, headers)
    assert stream.response.status == 400
    assert {"code", "description"} <= json.loads(stream.response.read()).keys()
    stream.close()


def _import_waiting(engine) -> bool:
    """True once the import's transaction has written rows of the layer and waits for
    the layer's data version row (held by the test)."""
    with engine.connect() as conn:
        return bool(conn.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
            "application_name = 'gisdb-import' AND wait_event_type = 'Lock' "
            "AND query ILIKE '%land.parcels%'")).scalar())


def _import_sessions(engine) -> int:
    """The import's sessions (a transaction of its own each time: pg_stat_activity is
    read once per transaction)."""
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                    "current_database() AND application_name = 'gisdb-import'")).scalar()


def test_a_killed_import_leaves_no_event(server, feed_settings, feed_engine, tmp_path):
    """The import is held inside its transaction after writing parcels (the test holds
    the layer's version row), killed, then let go: the server runs the rest of its
    statement (history rows, the feed's row), finds the client gone and rolls back."""
    start = tip(server)
    before = committed_changes(feed_engine, LAYERS)
    holder = feed_engine.connect()
    held = holder.begin()
    holder.execute(sa.text("SELECT 1 FROM meta.layer_versions WHERE table_name = 'land.parcels' FOR UPDATE"))
    proc = _import(feed_settings, write_parcels(tmp_path / "big.gpkg", 3000, start=20_000, driver="GPKG"))
    deadline = time.monotonic() + 120
    while not _import_waiting(feed_engine):
        assert proc.poll() is None and time.monotonic() < deadline, "the import never wrote"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    held.rollback()
    holder.close()
    while _import_sessions(feed_engine):       # wait until the server has ended the session
        assert time.monotonic() < deadline + 60, "the killed import's session never ended"
        time.sleep(0.2)
    assert committed_changes(feed_engine, LAYERS) == before
    status, doc = get_json(f"{server}/changes?since={start}")
    assert status == 200 and doc["changes"] == [] and doc["next"] == start
