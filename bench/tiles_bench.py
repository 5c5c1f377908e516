"""Vector tile benchmark (run by hand, never in tests).

    GISDB_DATABASE_NAME=tiles_bench .venv/bin/gisdb sample --scale 35     # ~1M features
    GISDB_DATABASE_NAME=tiles_bench .venv/bin/python bench/tiles_bench.py [--seconds 6 --repeat 11]

Random tiles over the city's extent at z12 (roads: buildings start at z14 in the
registry), z14 and z16 (buildings), uncached, measured with `wrk` (a Lua script picking a
random tile per request) at the same concurrency for:
  - ours: `gisdb serve --no-prepare --no-access-log` (Granian, as shipped; no access log,
    as for nginx) with the tile cache disabled; ours and the SQL ceiling run alternately
    and the ratio reported is the median of the pairs' ratios;
  - the SQL ceiling: the very statement our server runs, through `pgbench -M prepared`;
  - TiPg (pip-installed in its own venv, --tipg-venv), same database, same layer, same
    columns, on the indexed geom_3857 column, its 10,000-features-per-tile cut lifted.
Cached tiles: ours with the cache on (tiles warmed first) vs nginx serving the same
gzipped bytes from files. Also the low-zoom bound: the largest composite tile of all
layers at z <= 10 over the city (registry zoom ranges, and every layer forced to z0).
Prints requests/s per run (median of --repeat runs) and the ratios against the targets.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote_plus

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from servers import free_port, wait_http  # noqa: E402

from gisdb.engine import database_url, make_engine  # noqa: E402
from gisdb.settings import Settings  # noqa: E402
from layers.extent import layer_extent  # noqa: E402
from layers.registry import ALL_LAYERS, get_layer  # noqa: E402
from tiles.generalise import is_point_layer, plan_for  # noqa: E402
from tiles.grid import Tile, lonlat_to_tile, tiles_in_bbox  # noqa: E402
from tiles.mvt import render_mvt, tile_statement  # noqa: E402

CASES = [(12, "roads"), (14, "buildings"), (16, "buildings")]
LUA = """
local z, x0, x1, y0, y1 = %d, %d, %d, %d, %d
local template = "%s"
math.randomseed(%d)
request = function()
  local x = math.random(x0, x1)
  local y = math.random(y0, y1)
  local path = template:gsub("{z}", z):gsub("{x}", x):gsub("{y}", y)
  return wrk.format("GET", path, {["Accept-Encoding"] = "gzip"})
end
"""
NGINX_CONF = """
worker_processes 2;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %(dir)s/tmp; proxy_temp_path %(dir)s/tmp;
  fastcgi_temp_path %(dir)s/tmp; uwsgi_temp_path %(dir)s/tmp; scgi_temp_path %(dir)s/tmp;
  server {
    listen 127.0.0.1:%(port)d;
    root %(dir)s/tiles;
    location / { default_type application/vnd.mapbox-vector-tile;
                 add_header Content-Encoding gzip; etag on; }
  }
}
"""


def tile_range(bbox, z):
    x0, y0 = lonlat_to_tile(bbox[0], bbox[3], z)
    x1, y1 = lonlat_to_tile(bbox[2], bbox[1], z)
    return x0, x1, y0, y1


def wrk(url_root: str, template: str, z: int, rng, seconds: int, conns: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(LUA % (z, *rng, template, 7))
    out = subprocess.run(["wrk", "-t2", "-c" + str(conns), "-d" + str(seconds) + "s", "-s", fh.name,
                          url_root], capture_output=True, text=True).stdout
    os.unlink(fh.name)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        print(f"    ! {bad.group(1)} non-2xx responses")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def pgbench_script(layer, z: int, rng) -> str:
    """Our exact tile statement for this layer and zoom, the same text with the same
    parameters (z, x, y and the generalisation numbers) as pgbench variables."""
    tile = Tile(z, rng[0], rng[2])
    plan = plan_for(layer, tile, 0 if is_point_layer(layer) else 1)
    stmt = tile_statement([(layer, plan.mode)], with_versions=True)     # as the server runs it
    compiled = stmt.compile(dialect=postgresql.psycopg.dialect())
    values = dict(plan.params(), cell=plan.cell or 1.0)
    sets = [f"\\set x random({rng[0]}, {rng[1]})", f"\\set y random({rng[2]}, {rng[3]})",
            f"\\set z {z}"]
    sets += [f"\\set {name} {values[name]!r}" for name in compiled.params if name in values]
    sql = re.sub(r"%\((\w+)\)s", r":\1", compiled.string).replace("%%", "%")
    return "\n".join(sets) + "\n" + " ".join(sql.split()) + ";\n"


def pgbench(dsn_args: list[str], script: str, seconds: int, conns: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as fh:
        fh.write(script)
    env = dict(os.environ, PGOPTIONS="-c jit=off -c max_parallel_workers_per_gather=0")
    out = subprocess.run(["pgbench", "-n", "-M", "prepared", "-c", str(conns), "-j", "2",
                          "-T", str(seconds), "-f", fh.name, *dsn_args],
                         capture_output=True, text=True, env=env)
    os.unlink(fh.name)
    found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out.stdout)
    if not found:
        raise RuntimeError(out.stderr[-2000:])
    return float(found.group(1))


def start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def paired_run(run_ours, run_sql, ours_first: bool) -> tuple[float, float]:
    """(ours, sql) measured one after the other, in the order asked."""
    if ours_first:
        ours = run_ours()
        return ours, run_sql()
    sql = run_sql()
    return run_ours(), sql


def median_of(fn, repeat: int) -> float:
    return statistics.median(fn() for _ in range(repeat))


def warmed(fn, repeat: int) -> float:
    """Median of `repeat` runs after one unmeasured run (worker start-up, prepared
    statements, caches of the database)."""
    fn()
    return median_of(fn, repeat)


def low_zoom_report(engine, bbox) -> None:
    everything = [replace(layer, min_zoom=0) for layer in ALL_LAYERS]
    with engine.connect() as conn:
        conn.exec_driver_sql("SET statement_timeout = 0")
        for label, layers in (("registry zoom ranges", list(ALL_LAYERS)),
                              ("every layer forced from z0", everything)):
            worst = (-1, Tile(0, 0, 0))
            t0 = time.time()
            for z in range(0, 11):
                for tile in tiles_in_bbox(bbox, z):
                    size = len(render_mvt(conn, layers, tile))
                    worst = max(worst, (size, tile))
            print(f"  largest composite tile at z<=10 ({label}): {worst[0] / 1024:.0f} KB "
                  f"at {worst[1]} [{time.time() - t0:.0f} s]  (bound 500 KB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=11,
                    help="measured runs (pairs of runs for ours vs SQL), after one warm-up")
    ap.add_argument("--tipg-venv", default="/tmp/tipg-venv")
    ap.add_argument("--zooms", default="12,14,16", help="comma list of the zooms to measure")
    ap.add_argument("--serve-args", default="--no-access-log",
                    help="options of `gisdb serve` (use --serve-args=...; default: no access log, "
                         "like the nginx baseline)")
    ap.add_argument("--skip", default="", help="comma list of: ours,sql,tipg,cached,lowzoom")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    settings = Settings.from_env()
    engine = make_engine(settings, pool_size=2)
    with engine.connect() as conn:
        counts = {layer.id: conn.execute(sa.select(sa.func.count()).select_from(layer.table)).scalar()
                  for layer in ALL_LAYERS}
        bbox = tuple(layer_extent(conn, get_layer("buildings"), estimated=False))
    print(f"database {settings.database_name}: {sum(counts.values()):,} features "
          f"({counts['buildings']:,} buildings, {counts['parcels']:,} parcels, {counts['roads']:,} roads)")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
          f"{args.connections} connections, {args.seconds} s per run, median of {args.repeat}")
    url = sa.engine.make_url(database_url(settings))
    host = url.query.get("host") or url.host or "localhost"
    host = host[0] if isinstance(host, tuple) else host
    dsn_args = ["-h", host, "-p", str(url.port or 5432), "-U", url.username or "gisdb", url.database]
    results: dict[tuple, float] = {}
    paired: dict[int, float] = {}
    procs = []
    try:
        env = dict(os.environ, GISDB_TILE_CACHE_MB="0")
        port = free_port()
        if "ours" not in skip:
            procs.append(start([str(PROJECT / ".venv/bin/gisdb"), "serve", "--no-prepare",
                                "--port", str(port), *args.serve_args.split()], env, Path("/tmp/tiles_bench_ours.log")))
            wait_http(f"http://127.0.0.1:{port}/healthz")
        tipg_port = free_port()
        if "tipg" not in skip:
            tipg_env = dict(os.environ, DATABASE_URL=f"postgresql://{url.username}@{quote_plus(host)}/{url.database}"
                            if host.startswith("/") else f"postgresql://{url.username}@{host}:{url.port or 5432}/{url.database}",
                            TIPG_DB_SCHEMAS='["construction","traffic"]', TIPG_MAX_FEATURES_PER_TILE="10000000")
            procs.append(start([args.tipg_venv + "/bin/uvicorn", "tipg.main:app", "--port", str(tipg_port),
                                "--workers", "4", "--log-level", "warning"], tipg_env, Path("/tmp/tiles_bench_tipg.log")))
            wait_http(f"http://127.0.0.1:{tipg_port}/collections")
        zooms = {int(z) for z in args.zooms.split(",")}
        for z, layer_id in [case for case in CASES if case[0] in zooms]:
            layer = get_layer(layer_id)
            rng = tile_range(bbox, z)
            fields = ",".join(layer.tile_fields)
            print(f"z{z} {layer_id}: random tiles x {rng[0]}-{rng[1]}, y {rng[2]}-{rng[3]}")
            run_ours = lambda: wrk(f"http://127.0.0.1:{port}", "/tiles/" + layer_id + "/{z}/{x}/{y}.mvt",
                                   z, rng, args.seconds, args.connections)  # noqa: E731
            script = pgbench_script(layer, z, rng)
            run_sql = lambda: pgbench(dsn_args, script, args.seconds, args.connections)  # noqa: E731
            if "ours" not in skip and "sql" not in skip:
                # alternate the two in many short pairs: this machine's speed drifts by
                # 10-20% within minutes, and a ratio of neighbouring runs is steadier than a
                # ratio of two medians; every other pair runs the SQL first, so neither
                # side always follows the other's load
                run_ours(), run_sql()
                pairs = [paired_run(run_ours, run_sql, ours_first=i % 2 == 0)
                         for i in range(args.repeat)]
                results[("ours", z)] = statistics.median(a for a, _ in pairs)
                results[("sql", z)] = statistics.median(b for _, b in pairs)
                paired[z] = statistics.median(a / b for a, b in pairs)
            elif "ours" not in skip:
                results[("ours", z)] = warmed(run_ours, args.repeat)
            elif "sql" not in skip:
                results[("sql", z)] = warmed(run_sql, args.repeat)
            if ("ours", z) in results:
                print(f"  ours (gisdb serve, uncached){results[('ours', z)]:8.1f} tiles/s")
            if ("sql", z) in results:
                print(f"  SQL ceiling (pgbench -M prepared) {results[('sql', z)]:8.1f} tiles/s")
            if z in paired:
                print(f"  median of paired ratios ours/sql: {paired[z]:.2f}x (target 0.8x) "
                      f"{'OK' if paired[z] >= 0.8 else 'BELOW TARGET'}  [load {os.getloadavg()[0]:.1f}]")
            if "tipg" not in skip:
                template = ("/collections/" + layer.table_name + "/tiles/WebMercatorQuad/{z}/{x}/{y}"
                            "?geom-column=geom_3857&properties=" + fields)
                results[("tipg", z)] = warmed(lambda: wrk(
                    f"http://127.0.0.1:{tipg_port}", template, z, rng, args.seconds, args.connections),
                    args.repeat)
                print(f"  TiPg 1.x (uvicorn x4)      {results[('tipg', z)]:8.1f} tiles/s")
            for other, target in (("sql", 0.8), ("tipg", 1.0)):
                if ("ours", z) in results and (other, z) in results:
                    ratio = results[("ours", z)] / results[(other, z)]
                    print(f"  ratio ours/{other}: {ratio:.2f}x (target {target}x) "
                          f"{'OK' if ratio >= target else 'BELOW TARGET'}")
        for proc in procs:
            stop(proc)
        procs = []
        if "cached" not in skip:
            cached_bench(settings, bbox, args, results)
        if "lowzoom" not in skip:
            low_zoom_report(engine, bbox)
    finally:
        for proc in procs:
            stop(proc)
        engine.dispose()


def cached_bench(settings, bbox, args, results) -> None:
    """Ours with the cache on (warmed) vs nginx serving the same gzipped bytes."""
    z = 16
    x0, x1, y0, y1 = tile_range(bbox, z)
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    rng = (cx - 10, cx + 9, cy - 10, cy + 9)                 # 400 tiles in the centre
    work = Path(tempfile.mkdtemp(prefix="tiles-bench-"))
    work.chmod(0o755)                                        # nginx workers run unprivileged
    port, nginx_port = free_port(), free_port()
    env = dict(os.environ, GISDB_TILE_CACHE_MB="256", GISDB_DATA_DIR=str(work / "data"))
    env.setdefault("GISDB_DATABASE_URL", database_url(settings))
    ours = start([str(PROJECT / ".venv/bin/gisdb"), "serve", "--no-prepare", "--port", str(port),
                  *args.serve_args.split()], env, Path("/tmp/tiles_bench_cached.log"))
    nginx = None
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        (work / "tmp").mkdir()
        for x in range(rng[0], rng[1] + 1):
            for y in range(rng[2], rng[3] + 1):
                req = urllib.request.Request(f"http://127.0.0.1:{port}/tiles/buildings/{z}/{x}/{y}.mvt",
                                             headers={"Accept-Encoding": "gzip"})
                with urllib.request.urlopen(req) as resp:
                    body = resp.read()
                target = work / "tiles" / str(z) / str(x) / f"{y}.mvt"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(body)
        conf = work / "nginx.conf"
        conf.write_text(NGINX_CONF % {"dir": work, "port": nginx_port})
        nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
        nginx = start([nginx_bin, "-c", str(conf), "-g", "daemon off;"], dict(os.environ),
                      Path("/tmp/tiles_bench_nginx.log"))
        wait_http(f"http://127.0.0.1:{nginx_port}/{z}/{rng[0]}/{rng[2]}.mvt")
        mine = warmed(lambda: wrk(f"http://127.0.0.1:{port}", "/tiles/buildings/{z}/{x}/{y}.mvt",
                                     z, rng, args.seconds, args.connections), args.repeat)
        theirs = warmed(lambda: wrk(f"http://127.0.0.1:{nginx_port}", "/{z}/{x}/{y}.mvt", z, rng,
                                       args.seconds, args.connections), args.repeat)
        print(f"cached z{z} buildings (400 warmed tiles): ours {mine:.0f}/s, nginx {theirs:.0f}/s, "
              f"ratio {mine / theirs:.3f}x (target 0.05x) {'OK' if mine / theirs >= 0.05 else 'BELOW TARGET'}")
    finally:
        stop(ours)
        if nginx is not None:
            stop(nginx)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
