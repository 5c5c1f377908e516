"""No lost update: writers holding the same ETag, exactly one wins and the others get
412; a read-modify-write loop of increments with retries loses none. And a write killed
mid-transaction (its backend terminated while it waits) leaves the database unchanged."""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from edit_support import GEOJSON, LAT0, LON0, PATCH, auth, building, layer_digest, made

WRITERS = 8


def _patch(app, key, fid, etag, floors):
    client = app.test_client()
    return client.patch(f"/collections/buildings/items/{fid}", data=json.dumps({"properties": {"floors": floors}}),
                        headers=auth(key, **{"Content-Type": PATCH, "If-Match": etag}))


def test_same_etag_exactly_one_wins(write_app, edit_keys):
    key = edit_keys["edit"]
    fid, etag = made(write_app.test_client(), key, "WR-RACE", floors=1)
    barrier = threading.Barrier(WRITERS)

    def one(n):
        barrier.wait()
        return _patch(write_app, key, fid, etag, 10 + n).status_code

    with ThreadPoolExecutor(WRITERS) as pool:
        statuses = sorted(pool.map(one, range(WRITERS)))
    assert statuses == [204] + [412] * (WRITERS - 1)


def _increment(app, key, fid, times):
    client = app.test_client()
    done = 0
    while done < times:
        got = client.get(f"/collections/buildings/items/{fid}")
        floors = got.get_json()["properties"]["floors"]
        resp = _patch(app, key, fid, got.headers["ETag"], floors + 1)
        if resp.status_code == 204:
            done += 1
        else:
            assert resp.status_code == 412, resp.get_json()


def test_read_modify_write_loses_no_increment(write_app, edit_keys):
    key = edit_keys["edit"]
    client = write_app.test_client()
    fid, _ = made(client, key, "WR-COUNTER", floors=0)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: _increment(write_app, key, fid, 10), range(4)))
    assert client.get(f"/collections/buildings/items/{fid}").get_json()["properties"]["floors"] == 40


def _blocked_writer(engine) -> int | None:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'gisdb-write' "
            "AND wait_event_type = 'Lock' AND datname = current_database()")).scalar()


def test_killed_transaction_changes_nothing(write_app, edit_keys, engine):
    key = edit_keys["edit"]
    client = write_app.test_client()
    fid, etag = made(client, key, "WR-KILL", floors=1)
    creates = [{"op": "create", "collection": "buildings",
                "feature": building(f"WR-KILL-{i}", lon=LON0 + 0.002 * (i % 20), lat=LAT0 - 0.002 * (i // 20))}
               for i in range(300)]
    body = {"actions": creates + [{"op": "update", "collection": "buildings", "id": fid, "if_match": etag,
                                   "patch": {"properties": {"floors": 2}}}]}
    before = layer_digest(engine, "buildings")
    holder = engine.connect()
    holder.begin()
    holder.execute(sa.text("SELECT 1 FROM construction.buildings WHERE id = :i FOR UPDATE"), {"i": fid})
    answer = {}
    thread = threading.Thread(target=lambda: answer.update(resp=client.post(
        "/transactions", data=json.dumps(body), headers=auth(key, **{"Content-Type": "application/json"}))))
    thread.start()
    try:
        for _ in range(200):            # the 300 creates are written; the update waits for the lock
            pid = _blocked_writer(engine)
            if pid:
                break
            time.sleep(0.05)
        assert pid, "the transaction never reached the locked feature"
        with engine.connect() as conn:
            conn.execute(sa.select(sa.func.pg_terminate_backend(pid)))
        thread.join(30)
    finally:
        holder.rollback()
        holder.close()
    resp = answer["resp"]
    assert resp.status_code == 503 and resp.get_json()["code"] == "DatabaseUnavailable"
    assert layer_digest(engine, "buildings") == before
    again = client.post("/collections/buildings/items", data=json.dumps(building("WR-KILL-AFTER")),
                        headers=auth(key, **{"Content-Type": GEOJSON}))
    assert again.status_code == 201             # the pool healed
