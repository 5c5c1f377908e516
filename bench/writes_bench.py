"""Write throughput (run by hand, never in tests): single-feature PATCHes with 4
concurrent clients against a real `gisdb serve` (GISDB_WRITES=on, 4 workers x 2
threads), beside the same version-checked UPDATE sent as raw SQL by 4 threads as the
write role (the floor: no HTTP, no validation, no audit); and a 1,000-feature
transaction (`POST /transactions`) beside a raw 1,000-row INSERT.

    .venv/bin/gisdb sample --scale 1                  # once, into the embedded database
    .venv/bin/python bench/writes_bench.py [--seconds 10]

Each client PATCHes its own building (`floors`), sending the ETag of its previous
answer in If-Match, over one keep-alive connection; the report counts 204s per second
(and any other status, which must be none).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

import sqlalchemy as sa  # noqa: E402
from servers import free_port, wait_http  # noqa: E402

from gisdb.access.grants import add_user, grant  # noqa: E402
from gisdb.access.keys import create_key  # noqa: E402
from gisdb.engine import make_engine, make_write_engine  # noqa: E402
from gisdb.settings import Settings  # noqa: E402
from layers.layer import GROUPS  # noqa: E402
from layers.registry import layer_ids  # noqa: E402

CLIENTS = 4
LON, LAT = 108.215, 16.06


def make_key(engine) -> str:
    """A fresh user with the edit role everywhere, and its key."""
    user = "bench-" + uuid.uuid4().hex[:6]
    with engine.begin() as conn:
        add_user(conn, user)
        grant(conn, user, ["*"], "edit", [*layer_ids(), *GROUPS])
        return create_key(conn, user, user)


def features(engine, n: int) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT id FROM construction.buildings ORDER BY id LIMIT :n"), {"n": n}).scalars())


def raw_updates(settings, ids: list[int], seconds: float) -> float:
    """Version-checked UPDATEs per second, as the write role, one thread per feature."""
    engine = make_write_engine(settings, pool_size=CLIENTS)
    counts = [0] * len(ids)

    def run(i):
        with engine.connect() as conn:
            version = conn.execute(sa.text("SELECT xmin::text FROM construction.buildings WHERE id = :i"),
                                   {"i": ids[i]}).scalar()
            conn.commit()
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                version = conn.execute(sa.text(
                    "UPDATE construction.buildings SET floors = coalesce(floors, 0) % 10 + 1 "
                    "WHERE id = :i AND xmin::text = :v RETURNING xmin::text"),
                    {"i": ids[i], "v": version}).scalar()
                conn.commit()
                counts[i] += 1
    _threads(run, len(ids))
    engine.dispose()
    return sum(counts) / seconds


def _threads(func, n):
    threads = [threading.Thread(target=func, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def api_patches(port: int, key: str, ids: list[int], seconds: float) -> tuple[float, dict]:
    """204s per second of PATCHes, each client on its own feature; other statuses."""
    counts, other = [0] * len(ids), {}

    def run(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", f"/collections/buildings/items/{ids[i]}")
        resp = conn.getresponse()
        resp.read()
        etag = resp.getheader("ETag")
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            body = json.dumps({"properties": {"floors": counts[i] % 10 + 1}})
            conn.request("PATCH", f"/collections/buildings/items/{ids[i]}", body=body, headers={
                "Authorization": f"Bearer {key}", "Content-Type": "application/merge-patch+json",
                "If-Match": etag})
            resp = conn.getresponse()
            resp.read()
            if resp.status == 204:
                counts[i] += 1
                etag = resp.getheader("ETag")
            else:
                other[resp.status] = other.get(resp.status, 0) + 1
    _threads(run, len(ids))
    return sum(counts) / seconds, other


def _feature(code: str, i: int) -> dict:
    lon, lat = LON + 0.0006 * (i % 40), LAT - 0.0006 * (i // 40)
    ring = [[lon, lat], [lon + 0.0003, lat], [lon + 0.0003, lat + 0.0003], [lon, lat + 0.0003], [lon, lat]]
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"building_code": code, "use": "residential", "floors": 1 + i % 9}}


def api_transaction(port: int, key: str, n: int = 1000) -> tuple[float, float]:
    """Seconds of a transaction creating `n` buildings, and of the one deleting them."""
    tag = uuid.uuid4().hex[:6]
    actions = [{"op": "create", "collection": "buildings", "feature": _feature(f"BENCH-{tag}-{i}", i)}
               for i in range(n)]
    created, took = _post(port, key, actions)
    deletes = [{"op": "delete", "collection": "buildings", "id": r["id"], "if_match": r["etag"]}
               for r in created["results"]]
    return took, _post(port, key, deletes)[1]


def _post(port: int, key: str, actions: list) -> tuple[dict, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    body = json.dumps({"actions": actions})
    started = time.perf_counter()
    conn.request("POST", "/transactions", body=body, headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    took = time.perf_counter() - started
    if resp.status != 200:
        raise SystemExit(f"transaction failed: {resp.status} {data[:300]!r}")
    return json.loads(data), took


def raw_insert(settings, n: int = 1000) -> float:
    """Seconds of a raw INSERT of `n` buildings in one statement (then rolled back)."""
    engine = make_write_engine(settings, pool_size=1)
    rows = [{"c": f"RAW-{uuid.uuid4().hex[:6]}-{i}", "w": json.dumps(_feature("x", i)["geometry"])}
            for i in range(n)]
    with engine.connect() as conn:
        started = time.perf_counter()
        conn.execute(sa.text(
            "INSERT INTO construction.buildings (building_code, use, geom) "
            "SELECT r->>'c', 'residential', ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(r->>'w'), 4326)) "
            "FROM jsonb_array_elements(CAST(:rows AS jsonb)) r"), {"rows": json.dumps(rows)})
        conn.commit()
        took = time.perf_counter() - started
        conn.execute(sa.text("DELETE FROM construction.buildings WHERE building_code LIKE 'RAW-%'"))
        conn.commit()
    engine.dispose()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = Settings.from_env()
    owner = make_engine(settings)
    key = make_key(owner)
    ids = features(owner, CLIENTS)
    port = free_port()
    env = dict(os.environ, GISDB_WRITES="on")
    server = subprocess.Popen([str(Path(sys.executable).with_name("gisdb")), "serve", "--no-prepare",
                               "--no-access-log", "--port", str(port), "--workers", "4", "--threads", "2"],
                              cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        api_patches(port, key, ids, 2)                         # warm every worker's pools
        rates, raws, other = [], [], {}
        for _ in range(args.rounds):                           # alternate: the machine drifts
            raws.append(raw_updates(settings, ids, args.seconds))
            rate, errs = api_patches(port, key, ids, args.seconds)
            rates.append(rate)
            for status, n in errs.items():
                other[status] = other.get(status, 0) + n
        print(f"PATCH, {CLIENTS} clients: median {statistics.median(rates):.0f}/s "
              f"(rounds {', '.join(f'{r:.0f}' for r in rates)}), other statuses {other or 'none'}")
        print(f"raw version-checked UPDATE, {CLIENTS} threads: median {statistics.median(raws):.0f}/s")
        tx = [api_transaction(port, key) for _ in range(args.rounds)]
        raw = [raw_insert(settings) for _ in range(args.rounds)]
        print(f"1,000-feature transaction: create median {statistics.median(t[0] for t in tx):.2f} s, "
              f"delete median {statistics.median(t[1] for t in tx):.2f} s; "
              f"raw 1,000-row INSERT median {statistics.median(raw):.2f} s")
    finally:
        os.killpg(server.pid, 15)
        server.wait(20)
        owner.dispose()


if __name__ == "__main__":
    main()
