"""Read-replica benchmark (run by hand, never in tests).

    .venv/bin/python bench/replicas_bench.py [--parcels 5000 --rounds 7 --requests 300]

Builds a primary with a streaming standby (`pg_basebackup -R`, the tests' own set-up in
tests/replica_support.py) in a temporary directory, imports parcels on the primary, and
measures in-process (the WSGI app, no HTTP server), alternating in each round so the
shared machine's noise hits both alike:
  - the cost of read routing: requests/s of an app reading from the replica against the
    same app without GISDB_READ_URL (primary only), for items (limit=100), a cached
    vector tile (the fast path) and a feature; the median of the rounds' ratios;
  - replication delay: after each of --writes small commits on the primary, the time until
    the replica has replayed its position (what read-your-writes waits), median and p95.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT), str(PROJECT / "tests")]

import sqlalchemy as sa  # noqa: E402

from gisdb.engine import make_engine  # noqa: E402
from gisdb.replicas.health import REPLAY_POSITION  # noqa: E402
from import_support import run, write_parcels  # noqa: E402
from replica_support import replicated  # noqa: E402

PATHS = {"items limit=100": "/collections/parcels/items?limit=100",
         "cached tile z14": "/tiles/parcels/14/13188/7646.mvt",
         "one feature": "/collections/parcels/items/7"}


def rate(client, path: str, count: int) -> float:
    """Requests per second of `count` GETs of `path`."""
    started = time.perf_counter()
    for _ in range(count):
        assert client.get(path).status_code in (200, 204)
    return count / (time.perf_counter() - started)


def routing_ratios(plain, routed, rounds: int, count: int) -> None:
    """Print per path the median requests/s of each app and the median ratio."""
    for name, path in PATHS.items():
        pairs = []
        for _ in range(rounds):
            pairs.append((rate(plain, path, count), rate(routed, path, count)))
        base, ours = (statistics.median(side) for side in zip(*pairs))
        ratio = statistics.median(r / p for p, r in pairs)
        print(f"{name:18s} primary only {base:8.1f} req/s   via replica {ours:8.1f} req/s"
              f"   ratio {ratio:.2f}x")


def replication_delay(rep, writes: int) -> None:
    """Print the median and p95 time from a commit to its replay on the replica."""
    owner, replica = rep.superuser(rep.primary), rep.superuser(rep.standby)   # autocommit
    delays = []
    with owner.connect() as conn, replica.connect() as rconn:
        for n in range(writes):
            conn.execute(sa.text("UPDATE land.parcels SET area_m2 = area_m2 + 0.1 WHERE id = :i"),
                         {"i": n + 1})
            lsn = conn.execute(sa.text("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint")).scalar()
            started = time.perf_counter()
            while rconn.execute(REPLAY_POSITION).scalar() < lsn:
                time.sleep(0.001)
            delays.append(1000 * (time.perf_counter() - started))
    delays.sort()
    print(f"replication delay over {writes} commits: median {statistics.median(delays):.1f} ms, "
          f"p95 {delays[int(len(delays) * 0.95) - 1]:.1f} ms")
    owner.dispose()


def main() -> None:
    """Set up, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parcels", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--writes", type=int, default=100)
    args = parser.parse_args()
    from dataclasses import replace

    from webmap.app import create_app
    with tempfile.TemporaryDirectory() as tmp, replicated(Path(tmp)) as rep:
        owner = make_engine(rep.settings)
        run(owner, rep.settings, "parcels", write_parcels(Path(tmp) / "p.gpkg", args.parcels))
        owner.dispose()
        plain = create_app({"SETTINGS": replace(rep.settings, data_dir=Path(tmp) / "a")})
        routed = rep.app(Path(tmp) / "b")
        clients = plain.test_client(), routed.test_client()
        while clients[1].get(PATHS["one feature"]).headers["Gisdb-Read-From"] != "replica 1":
            time.sleep(0.2)
        routing_ratios(*clients, args.rounds, args.requests)
        replication_delay(rep, args.writes)
        for app in (plain, routed):
            app.extensions["gisdb"].dispose()


if __name__ == "__main__":
    main()
