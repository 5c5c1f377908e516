"""Scale-out (issue 16, points 1-3) against a real streaming replica of a cluster of the
tests' own (`pg_basebackup -R`): stateless app nodes, reads on the replica that converge,
read-your-writes, ETags that never go back, a lagging or stopped replica out of rotation
and back, hostile positions, and a failover to the promoted replica without a restart."""
from __future__ import annotations

import logging
import re
import time

import pytest
import sqlalchemy as sa

from access_fixtures import make_key
from edit_support import building, create
from gisdb.engine import make_engine
from gisdb.replicas.standby import promote
from import_support import run, write_parcels
from replica_support import pause_replay, replicated, wait_until

ITEMS = "/collections/parcels/items?limit=3"
COUNT = "/collections/parcels/items?limit=1"
REQUESTS = [ITEMS, "/collections/parcels/items/1", "/collections/parcels",
            "/tiles/parcels/14/13188/7646.mvt", "/query/identify?lon=108.2&lat=16.05",
            "/collections/buildings/items?limit=2"]


@pytest.fixture(scope="module")
def rep(tmp_path_factory):
    """The primary + standby, with 30 parcels imported on the primary."""
    tmp = tmp_path_factory.mktemp("repl")
    with replicated(tmp) as found:
        owner = make_engine(found.settings)
        run(owner, found.settings, "parcels", write_parcels(tmp / "p.gpkg", 30), mode="upsert")
        found.owner = owner
        found.key = make_key(owner, "repl-editor", "edit")
        yield found
        owner.dispose()


@pytest.fixture(scope="module")
def routed(rep, tmp_path_factory):
    """An app reading from the replica (a lag bound of 2 s, so the lag test is quick)."""
    application = rep.app(tmp_path_factory.mktemp("node_r"), max_replica_lag_s=2.0)
    yield application
    application.extensions["gisdb"].dispose()


def matched(resp) -> int:
    return resp.get_json()["numberMatched"]


def timeless(resp) -> bytes:
    """An answer's body without a collection's `timeStamp` (the second it was answered,
    not a node's state)."""
    return re.sub(rb'"timeStamp": "[^"]*"', b"", resp.get_data())


def answers(client, paths):
    """(path, status, body, ETag) of each path."""
    return [(path, (resp := client.get(path)).status_code, timeless(resp),
             resp.headers.get("ETag")) for path in paths]


def test_two_app_nodes_answer_alike_before_and_after_an_edit(rep, tmp_path_factory):
    """Point 1: two app instances (own tile caches, own processes' state) on the same
    database give the same bodies and ETags, also right after an edit through one."""
    from dataclasses import replace

    from webmap.app import create_app
    apps = [create_app({"TESTING": True, "SETTINGS": replace(
        rep.settings, writes=True, data_dir=tmp_path_factory.mktemp(f"node{n}"))}) for n in (1, 2)]
    one, two = (a.test_client() for a in apps)
    before = answers(one, REQUESTS)
    assert before == answers(two, REQUESTS)
    assert all(status in (200, 204) for _, status, _, _ in before)
    assert create(one, rep.key, building("REPL-NODE-1")).status_code == 201
    after_two, after_one = answers(two, REQUESTS), answers(one, REQUESTS)
    assert after_one == after_two
    changed = {p for (p, _, body, tag), (_, _, body2, tag2) in zip(before, after_one) if tag != tag2}
    assert "/collections/buildings/items?limit=2" in changed and ITEMS not in changed
    for application in apps:
        application.extensions["gisdb"].dispose()


def test_reads_go_to_the_replica_and_converge_after_an_import(rep, routed, tmp_path):
    client = routed.test_client()
    first = wait_until(lambda: (r := client.get(COUNT)).headers["Gisdb-Read-From"] == "replica 1" and r)
    assert first.status_code == 200 and matched(first) == 30
    run(rep.owner, rep.settings, "parcels", write_parcels(tmp_path / "more.gpkg", 12, start=31),
        mode="upsert")
    done = wait_until(lambda: (r := client.get(COUNT)).headers["Gisdb-Read-From"] == "replica 1"
                      and matched(r) == 42 and r)
    primary = routed.test_client().get("/healthz")
    assert primary.get_json()["replicas"][0]["in_rotation"] is True
    with rep.owner.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM land.parcels")).scalar() == 42
    assert done.headers["ETag"]


def test_a_writer_reads_its_write_even_on_a_paused_replica(rep, routed):
    client = routed.test_client()
    pause_replay(rep, True)
    try:
        resp = create(client, rep.key, building("REPL-RYW-1"))
        assert resp.status_code == 201
        lsn = resp.headers["Gisdb-Lsn"]
        assert "gisdb_lsn=" + lsn in resp.headers["Set-Cookie"]
        started = time.monotonic()
        seen = client.get("/collections/buildings/items?building_code=REPL-RYW-1")  # the cookie
        assert seen.status_code == 200 and matched(seen) == 1
        assert seen.headers["Gisdb-Read-From"] == "primary"       # the replica had not replayed
        assert time.monotonic() - started >= 0.45                  # it waited for it first
        stranger = routed.test_client().get("/collections/buildings/items?building_code=REPL-RYW-1")
        if stranger.headers["Gisdb-Read-From"] == "replica 1":    # (not out of rotation yet)
            assert matched(stranger) == 0                           # the paused replica lacks it
    finally:
        pause_replay(rep, False)
    again = wait_until(lambda: (r := routed.test_client().get(
        "/collections/buildings/items?building_code=REPL-RYW-1", headers={"Gisdb-Lsn": lsn}))
        .headers["Gisdb-Read-From"] == "replica 1" and r)
    assert matched(again) == 1


def test_etags_never_go_back_when_a_client_alternates(rep, routed):
    """A client that holds the newest ETag and revalidates on a lagging replica gets 304
    with that ETag (the primary decides), never the replica's older answer."""
    client = routed.test_client()
    path = "/collections/buildings/items?limit=50"
    old = wait_until(lambda: (r := client.get(path)).headers["Gisdb-Read-From"] == "replica 1" and r)
    pause_replay(rep, True)
    try:
        assert create(client, rep.key, building("REPL-ETAG-1")).status_code == 201
        fresh = routed.test_client().get(path, headers={"Gisdb-Lsn": client.get_cookie("gisdb_lsn").value})
        assert fresh.headers["ETag"] != old.headers["ETag"]
        for _ in range(4):              # alternating: the replica still has the old data
            again = routed.test_client().get(path, headers={"If-None-Match": fresh.headers["ETag"]})
            assert again.status_code == 304 and again.headers["ETag"] == fresh.headers["ETag"]
        # an older copy stays current on the lagging replica (never going back, at most
        # GISDB_MAX_REPLICA_LAG behind), and is refreshed once the replica has replayed
        # (or, once the replica is out of rotation for its lag, the primary's newer answer)
        stale = routed.test_client().get(path, headers={"If-None-Match": old.headers["ETag"]})
        assert (stale.status_code, stale.headers["ETag"]) in {
            (304, old.headers["ETag"]), (200, fresh.headers["ETag"])}
    finally:
        pause_replay(rep, False)
    caught = wait_until(lambda: (r := routed.test_client().get(path)).headers["Gisdb-Read-From"]
                        == "replica 1" and r.headers["ETag"] == fresh.headers["ETag"] and r)
    assert timeless(caught) == timeless(fresh)


def test_a_lagging_replica_leaves_the_rotation_and_comes_back(rep, routed, caplog):
    caplog.set_level(logging.WARNING, logger="gisdb.replicas.router")
    client = routed.test_client()
    pause_replay(rep, True)
    try:
        assert create(client, rep.key, building("REPL-LAG-1")).status_code == 201
        health = wait_until(lambda: not (h := client.get("/healthz").get_json())["replicas"][0][
            "in_rotation"] and h, within_s=10)
        assert "behind the primary" in health["replicas"][0]["problem"]
        assert health["replicas"][0]["lag_s"] > 2.0
        time.sleep(1.1)                 # the next check, whichever request made the last
        assert client.get(COUNT).headers["Gisdb-Read-From"] == "primary"
    finally:
        pause_replay(rep, False)
    wait_until(lambda: client.get("/healthz").get_json()["replicas"][0]["in_rotation"])
    wait_until(lambda: client.get(COUNT).headers["Gisdb-Read-From"] == "replica 1", every_s=0.3)
    assert "out of rotation" in caplog.text and "in rotation" in caplog.text


def test_a_stopped_replica_is_skipped_and_rejoins(rep, routed):
    client = routed.test_client()
    rep.standby.stop()
    try:
        for _ in range(3):
            resp = client.get(COUNT)
            assert resp.status_code == 200 and resp.headers["Gisdb-Read-From"] == "primary"
        replica = client.get("/healthz").get_json()["replicas"][0]
        assert replica["in_rotation"] is False and replica["problem"]
    finally:
        rep.standby.start(roles=False)
    wait_until(lambda: client.get(COUNT).headers["Gisdb-Read-From"] == "replica 1", every_s=0.3)


@pytest.mark.parametrize("header, cookie", [
    ("zzz", None), ("1/2/3", None), ("'; DROP TABLE x; --", None), ("123456789/0", None),
    (None, "nope"), (None, "0/1x"), (None, "")])
def test_a_malformed_position_is_a_json_400(rep, routed, header, cookie):
    client = routed.test_client()
    if cookie is not None:              # the test client sends cookies from its own jar
        client.set_cookie("gisdb_lsn", cookie)
    resp = client.get(COUNT, headers={} if header is None else {"Gisdb-Lsn": header})
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["code"] == "InvalidParameterValue" and "WAL position" in body["description"]
    assert "SELECT" not in body["description"] and "Traceback" not in resp.get_data(as_text=True)


def test_a_position_from_the_future_is_read_on_the_primary(rep, routed):
    started = time.monotonic()
    resp = routed.test_client().get(COUNT, headers={"Gisdb-Lsn": "FFFFFFFF/FFFFFFFF"})
    assert resp.status_code == 200 and resp.headers["Gisdb-Read-From"] == "primary"
    assert time.monotonic() - started < 5


def test_failover_to_the_promoted_replica_without_a_restart(rep, tmp_path, tmp_path_factory, caplog):
    """Point 3 (last: it ends the topology): the app's URLs name both servers with
    target_session_attrs=primary; the primary stops, the app answers JSON 503 where it
    needs the primary, the replica is promoted, the app heals, no committed import is lost,
    and the log says what happened."""
    caplog.set_level(logging.INFO)
    from dataclasses import replace

    from gisdb.roles import WRITE_ROLE
    from webmap.app import create_app
    settings = replace(rep.settings, writes=True, read_urls=(rep.replica_url(),),
                       web_database_url=rep.both_hosts(), write_database_url=rep.both_hosts(WRITE_ROLE),
                       data_dir=tmp_path_factory.mktemp("node_f"))
    application = create_app({"TESTING": True, "SETTINGS": settings})
    client = application.test_client()
    assert client.get("/healthz").status_code == 200
    run(rep.owner, rep.settings, "parcels", write_parcels(tmp_path / "last.gpkg", 5, start=101),
        mode="upsert")
    with rep.owner.connect() as conn:
        committed = conn.execute(sa.text("SELECT count(*) FROM land.parcels")).scalar()
    rep.owner.dispose()
    started = time.monotonic()
    rep.primary.stop()
    down = client.get("/healthz")
    assert down.status_code == 503 and down.get_json()["code"] == "DatabaseUnavailable"
    refused = create(client, rep.key, building("REPL-FAIL-1"))
    assert refused.status_code in (401, 503) and refused.get_json()["code"]
    promote(rep.standby)
    healed = wait_until(lambda: client.get("/healthz").status_code == 200 and client.get("/healthz"),
                        within_s=30, every_s=0.2)
    assert healed.get_json()["replicas"][0]["in_rotation"] is False       # now the primary
    count = client.get(COUNT)
    assert count.status_code == 200 and matched(count) == committed
    assert count.headers["Gisdb-Read-From"] == "primary"
    assert create(client, rep.key, building("REPL-FAIL-2")).status_code == 201
    assert time.monotonic() - started < 60
    assert "now connects to" in caplog.text and str(rep.standby.socket_dir) in caplog.text
    assert "not a standby any more" in caplog.text
    application.extensions["gisdb"].dispose()
