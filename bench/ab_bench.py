"""A/B benchmark of two versions of the server (run by hand, never in tests): did a change
make reads slower?

    GISDB_DATABASE_NAME=tiles_bench .venv/bin/gisdb sample --scale 35     # ~1M features
    GISDB_DATABASE_NAME=tiles_bench .venv/bin/python bench/ab_bench.py --base 375e09d

Version A is the git revision `--base`, exported to a temporary folder and run with this
virtualenv (its packages first on PYTHONPATH); version B is this working tree. Both serve
the same database with `gisdb serve --no-prepare --no-access-log`, tile cache off, at the
same time on two ports. Each workload runs under `wrk` against A and B alternately (which
side goes first alternates too), at each concurrency asked; the ratio reported is the
median of the pairs' B/A ratios (1.00 = no change; above 1 = B faster).

Workloads, from fixed lists of non-empty requests in the dense part of the city (the
centroids of a seeded random sample of buildings):
  - items: `/collections/buildings/items?bbox=<~400 m box>&limit=1000` (`--limit`)
  - tiles z14 and z16 (`--zooms`): `/tiles/buildings/{z}/{x}/{y}.mvt` (gzip asked, as
    browsers do)
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

import sqlalchemy as sa  # noqa: E402
from servers import free_port, wait_http  # noqa: E402

from gisdb.engine import make_engine  # noqa: E402
from gisdb.settings import Settings  # noqa: E402
from tiles.grid import lonlat_to_tile  # noqa: E402

LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i], {["Accept-Encoding"] = "gzip"})
end
"""


def sample_points(settings: Settings, count: int) -> list[tuple[float, float]]:
    """Centroids of a seeded random sample of buildings (dense areas weigh more)."""
    engine = make_engine(settings, pool_size=1)
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT setseed(0.42)")
        rows = conn.execute(sa.text(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) AS c FROM construction.buildings "
            "ORDER BY random() LIMIT :n) s"), {"n": count}).all()
    engine.dispose()
    return [(float(x), float(y)) for x, y in rows]


def workloads(points: list[tuple[float, float]], limit: int = 1000,
              zooms: tuple[int, ...] = (14, 16)) -> dict[str, list[str]]:
    """Request lists: items pages of `limit` around each point, vector tiles at `zooms`."""
    half = 0.002
    items = [f"/collections/buildings/items?bbox={x - half:.5f},{y - half:.5f},{x + half:.5f},{y + half:.5f}"
             f"&limit={limit}" for x, y in points]
    out = {f"items limit={limit}": items}
    for z in zooms:
        tiles = sorted({lonlat_to_tile(x, y, z) for x, y in points})
        out[f"tiles z{z}"] = [f"/tiles/buildings/{z}/{x}/{y}.mvt" for x, y in tiles]
    return out


def wrk(port: int, paths: list[str], seconds: int, conns: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(LUA % ",".join(f'"{p}"' for p in paths))
    out = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "-s", fh.name,
                          f"http://127.0.0.1:{port}"], capture_output=True, text=True).stdout
    os.unlink(fh.name)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        print(f"    ! {bad.group(1)} non-2xx responses on port {port}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def start(env: dict, port: int, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-c", "from scripts.cli import main; main()", "serve", "--no-prepare",
           "--no-access-log", "--port", str(port)]
    return subprocess.Popen(cmd, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def export_revision(rev: str, into: Path) -> None:
    archive = subprocess.run(["git", "-C", str(PROJECT), "archive", rev], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True, help="git revision of version A")
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=7, help="pairs of runs per workload")
    ap.add_argument("--connections", default="2,8")
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--limit", type=int, default=1000, help="page size of the items workload")
    ap.add_argument("--zooms", default="14,16", help="zoom levels of the tile workloads")
    args = ap.parse_args()
    settings = Settings.from_env()
    loads = workloads(sample_points(settings, args.points), args.limit,
                      tuple(int(z) for z in args.zooms.split(",")))
    base_dir = Path(tempfile.mkdtemp(prefix="ab_base_"))
    export_revision(args.base, base_dir)
    env = dict(os.environ, GISDB_TILE_CACHE_MB="0")
    ports = {"A": free_port(), "B": free_port()}
    procs = [start(dict(env, PYTHONPATH=str(base_dir)), ports["A"], Path("/tmp/ab_A.log")),
             start(dict(env, PYTHONPATH=str(PROJECT)), ports["B"], Path("/tmp/ab_B.log"))]
    try:
        for port in ports.values():
            wait_http(f"http://127.0.0.1:{port}/healthz")
        print(f"A = {args.base}, B = working tree; {os.cpu_count()} cores, "
              f"{args.seconds} s runs, {args.repeat} alternating pairs")
        for conns in (int(c) for c in args.connections.split(",")):
            for name, paths in loads.items():
                for port in ports.values():
                    wrk(port, paths, 2, conns)                        # warm-up
                a_runs, b_runs, ratios = [], [], []
                for i in range(args.repeat):
                    order = ("A", "B") if i % 2 == 0 else ("B", "A")
                    got = {side: wrk(ports[side], paths, args.seconds, conns) for side in order}
                    a_runs.append(got["A"])
                    b_runs.append(got["B"])
                    ratios.append(got["B"] / got["A"])
                print(f"{name:18s} {conns} conns ({len(paths)} requests): "
                      f"A {statistics.median(a_runs):8.1f}/s  B {statistics.median(b_runs):8.1f}/s  "
                      f"B/A {statistics.median(ratios):.3f}")
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, 15)
                proc.wait(20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, 9)
        shutil.rmtree(base_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
