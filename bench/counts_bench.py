"""Benchmark of a station's time series (run by hand, never in tests): a year of hourly
counts of one station (8,760 rows) among 200 stations' (1,752,000 rows), over HTTP
(`GET /collections/traffic_stations/items/{id}/counts?datetime=<year>&step=hour`, a
Granian server of 1 worker) against the bare SQL of that answer (the endpoint's core
call, `layers.counts.series.station_series`, on one connection) from the same Python
client; and that SQL without the covering index (0008) as the baseline. Prints the
median and p95 of each, and the load average (the machine is shared).

    GISDB_DATABASE_NAME=counts_bench .venv/bin/gisdb migrate
    GISDB_DATABASE_NAME=counts_bench .venv/bin/python bench/counts_bench.py --repeat 200

The database gets its 200 stations and their year of counts on the first run (about a
minute), then VACUUM ANALYZE (index-only scans need the visibility map)."""
from __future__ import annotations

import argparse
import http.client
import os
import random
import statistics
import subprocess
import time

import sqlalchemy as sa
from servers import free_port, wait_http

from gisdb.engine import make_engine
from gisdb.settings import Settings
from layers.counts.buckets import window_of
from layers.counts.series import station_series
from scripts.serve import server_command, server_env

STATIONS = 200
YEAR = "2025-01-01/2025-12-31"

LOAD = """
INSERT INTO traffic.traffic_stations (id, station_code, name, geom)
SELECT 100000 + s, 'BENCH-' || s, 'Bench ' || s,
       ST_SetSRID(ST_MakePoint(108.15 + s * 0.0005, 16.05), 4326)
  FROM generate_series(1, :n) s;
INSERT INTO traffic.traffic_counts (station_id, counted_at, motorbikes, cars, trucks, buses, avg_speed_kmh)
SELECT 100000 + s, t, (random() * 3000)::int, (random() * 500)::int, (random() * 80)::int,
       (random() * 20)::int, round((20 + random() * 30)::numeric, 1)
  FROM generate_series(timestamptz '2025-01-01 00:00+07', timestamptz '2025-12-31 23:00+07',
                       interval '1 hour') t, generate_series(1, :n) s
 ORDER BY t, s
"""


def load(engine) -> None:
    """200 stations and a year of hourly counts each, interleaved as an IOC would push
    them (every station's hour, hour after hour), unless already there."""
    with engine.begin() as conn:
        if conn.execute(sa.text("SELECT count(*) FROM traffic.traffic_stations WHERE id > 100000")).scalar():
            return
        for statement in LOAD.split(";"):
            conn.execute(sa.text(statement), {"n": STATIONS})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE traffic.traffic_counts")


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(random.randint(1, STATIONS) + 100000)
        out.append((time.perf_counter() - t) * 1000)
    return out


def backend_cpu_ms(conn, fn, repeat: int) -> float:
    """CPU time (user + system) of the connection's PostgreSQL backend per call of `fn`,
    read from /proc: what the query costs, whatever the machine's load."""
    pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    conn.rollback()

    def cpu() -> float:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
    before = cpu()
    timed(fn, repeat)
    return (cpu() - before) / repeat


def report(name: str, ms: list[float]) -> None:
    ms = sorted(ms)
    print(f"{name:<42} median {statistics.median(ms):7.1f} ms   p95 {ms[int(len(ms) * 0.95) - 1]:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    settings = Settings.from_env()
    engine = make_engine(settings, pool_size=1, timeout_ms=settings.import_statement_timeout_ms)
    load(engine)
    port = free_port()
    server = subprocess.Popen(server_command("127.0.0.1", port, 1, 2, False),
                              env=server_env("127.0.0.1", port, 2), stdout=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        def over_http(station: int) -> None:
            http_conn = http.client.HTTPConnection("127.0.0.1", port)   # connect: ~0.1 ms
            http_conn.request("GET", f"/collections/traffic_stations/items/{station}/counts"
                                     f"?datetime={YEAR}&step=hour")
            resp = http_conn.getresponse()
            body = resp.read()
            http_conn.close()
            assert resp.status == 200 and body.count(b'"time"') == 8760, (resp.status, body[:200])

        window = window_of(YEAR)
        with engine.connect() as conn:
            def bare(station: int) -> None:
                text = station_series(conn, station, window, "hour")    # the endpoint's core call
                conn.rollback()
                assert text.count('"time"') == 8760
            for fn in (over_http, bare):            # warm up
                timed(fn, 10)
            results = {}
            for _ in range(2):                      # alternate, the machine is shared
                results.setdefault("HTTP GET (JSON, 8,760 hours)", []).extend(timed(over_http, args.repeat // 2))
                results.setdefault("bare SQL, same client", []).extend(timed(bare, args.repeat // 2))

            def without_index(station: int) -> None:
                conn.exec_driver_sql("DROP INDEX traffic.traffic_counts_series")
                bare(station)                                           # rolls the drop back
            results["bare SQL without the covering index"] = timed(without_index, args.repeat // 2)
            cpu = {"with": backend_cpu_ms(conn, bare, args.repeat // 2),
                   "without": backend_cpu_ms(conn, without_index, args.repeat // 2)}
        for name, ms in results.items():
            report(name, ms)
        print(f"database CPU per call: {cpu['with']:.1f} ms with the covering index, "
              f"{cpu['without']:.1f} ms without")
        print("load average", " ".join(f"{x:.1f}" for x in os.getloadavg()))
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
