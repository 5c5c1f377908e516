"""Webhooks (`gisdb hooks`): signed batches to a local receiver, retries with back-off,
a dead letter after the last attempt, retried from the dead-letter list; two workers
never send one batch twice; URLs are checked and never logged with their query."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from feed_support import add_parcel, committed_changes, feed_engine, feed_settings  # noqa: F401
from gisdb.feed import delivery
from layers.feed import feed_page
from scripts.cli import main


class Receiver:
    """A local HTTP receiver that checks each POST's signature and answers `status`."""

    def __init__(self):
        self.status, self.secret, self.got, self.bad, self.delay = 200, None, [], [], 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers["X-Gisdb-Timestamp"]
                want = "sha256=" + hmac.new(receiver.secret.encode(), stamp.encode() + b"." + body,
                                            hashlib.sha256).hexdigest()
                if not hmac.compare_digest(want, self.headers["X-Gisdb-Signature"]):
                    receiver.bad.append(body)
                threading.Event().wait(receiver.delay)
                if receiver.status == 200:
                    receiver.got.append(json.loads(body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook?key=private"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def change_ids(self) -> list[int]:
        return [c["change"] for batch in self.got for c in batch["changes"]]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture
def gisdb(feed_settings):
    env = {**os.environ, "GISDB_DATABASE_URL": feed_settings.database_url,
           "GISDB_DATA_DIR": str(feed_settings.data_dir)}

    def run(*args, ok=True):
        result = CliRunner().invoke(main, list(args), env=env)
        assert (result.exit_code == 0) == ok, (args, result.output)
        return result.output
    return run


def test_signed_batches_retries_dead_letter_and_retry(receiver, gisdb, feed_engine):
    out = gisdb("hooks", "add", receiver.url, "--layers", "parcels")
    hook_id = int(re.search(r"hook (\d+)", out).group(1))
    receiver.secret = re.search(r"secret .*: (\S+)", out).group(1)
    assert "key=private" not in out
    first = committed_changes(feed_engine)[-1:] or [0]
    with feed_engine.begin() as conn:
        ids = [add_parcel(conn, 900 + i) for i in range(3)]
    gisdb("hooks", "run", "--once")
    assert receiver.bad == [] and [c["id"] for c in receiver.got[0]["changes"]] == ids
    assert receiver.got[0]["delivery"] == f"{hook_id}-{receiver.got[0]['changes'][0]['change']}" \
        f"-{receiver.got[0]['changes'][-1]['change']}"

    receiver.status = 500                                   # the receiver fails
    with feed_engine.begin() as conn:
        lost = add_parcel(conn, 910)
    for _ in range(3):
        gisdb("hooks", "run", "--once", "--max-attempts", "3", "--backoff", "0")
    listing = gisdb("hooks", "list")
    assert "key=private" not in listing and "dead 1" in listing
    assert "1 changes" in gisdb("hooks", "dead", str(hook_id))

    receiver.status = 200                                   # later changes flow again
    with feed_engine.begin() as conn:
        after = add_parcel(conn, 911)
    gisdb("hooks", "run", "--once")
    assert [c["id"] for c in receiver.got[-1]["changes"]] == [after]
    assert "1 dead letters delivered" in gisdb("hooks", "retry", str(hook_id))
    assert [c["id"] for c in receiver.got[-1]["changes"]] == [lost]
    assert "no dead letters" in gisdb("hooks", "dead")
    assert sorted(receiver.change_ids()) == committed_changes(feed_engine, after=first[0])
    assert receiver.bad == []
    gisdb("hooks", "remove", str(hook_id))


def test_two_workers_never_send_a_batch_twice(receiver, gisdb, feed_engine):
    out = gisdb("hooks", "add", receiver.url, "--layers", "parcels")
    receiver.secret = re.search(r"secret .*: (\S+)", out).group(1)
    receiver.delay = 0.3
    with feed_engine.begin() as conn:
        for i in range(5):
            add_parcel(conn, 950 + i)
    policy = delivery.Policy(batch=2)
    workers = [threading.Thread(target=delivery.run_due, args=(feed_engine, feed_page, policy))
               for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    ids = receiver.change_ids()
    assert len(ids) == 5 and len(set(ids)) == 5
    gisdb("hooks", "remove", re.search(r"hook (\d+)", out).group(1))


@pytest.mark.parametrize("url", ["ftp://example.org/x", "http://user:pw@example.org/x", "http:///x",
                                 "javascript:alert(1)", "http://example.org/a b", "http://example.org:0/"])
def test_bad_hook_urls_are_refused(gisdb, feed_engine, url):
    out = gisdb("hooks", "add", url, "--layers", "parcels", ok=False)
    assert "Error" in out and "pw" not in out
    with feed_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM meta.hooks WHERE url = :u"), {"u": url}).scalar() == 0


def test_unknown_layers_and_hooks_are_errors(gisdb):
    assert "nope" in gisdb("hooks", "add", "http://127.0.0.1:9/", "--layers", "nope", ok=False)
    assert "no hook 999999" in gisdb("hooks", "remove", "999999", ok=False)
