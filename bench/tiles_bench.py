"""Vector tile benchmark (run by hand, never in tests), on the million-feature city.

    GISDB_DATABASE_NAME=tiles_bench .venv/bin/gisdb sample --scale 35     # ~1M features
    python3 -m venv /tmp/tipg-venv && /tmp/tipg-venv/bin/pip install 'tipg==1.*' uvicorn
    GISDB_DATABASE_NAME=tiles_bench .venv/bin/python bench/tiles_bench.py [--zooms 16 --rounds 5]

The method of issue 16 ("Benchmarks that hold up"):
  - tile lists are fixed: the `--tiles` densest tiles of the layer at each zoom (the city
    core: ~950 buildings per z16 tile at scale 35), and apart from them a list drawn at
    random (fixed seed) over the layer's extent, empty tiles included; the mean features
    per tile (and the share of empty tiles) is printed beside each list's rates;
  - every contender requests tiles drawn at random from the same list;
  - the SQL ceiling is the very statement our server runs for a tile (tile and data
    versions in one statement, `tiles.mvt.tile_statement`), under `pgbench -M prepared`
    with the server's session settings (no JIT, no parallel workers);
  - ours: `gisdb serve --no-prepare --no-access-log` (Granian, as shipped) with the tile
    cache off, driven by `wrk` with keep-alive, as a browser does;
  - TiPg (its own venv, --tipg-venv; same database, layer, columns, indexed geom_3857, its
    10,000-features-per-tile cut lifted), driven with keep-alive and with
    `Connection: close` and credited with its better mode;
  - at each of --connections (2 and 8): ours, the SQL and TiPg run alternately in
    --rounds rounds; printed are each one's median and the median of the same-round
    ratios ours/SQL (targets: 0.85x at 2 connections, 0.9x at 8) and ours/TiPg.
Cached tiles: ours with the cache on (the dense z16 list warmed) vs nginx serving the same
gzipped bytes from files, alternating likewise. The machine's load is printed beside every
figure. The database must hold at least a million features unless --allow-small.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
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
from tiles.density import densest_tiles  # noqa: E402
from tiles.generalise import is_point_layer, plan_for  # noqa: E402
from tiles.grid import Tile, lonlat_to_tile  # noqa: E402
from tiles.mvt import search_envelope, tile_statement  # noqa: E402

CASES = [(12, "roads"), (14, "buildings"), (16, "buildings")]
TARGETS = {2: 0.85, 8: 0.9}          # ours / SQL ceiling at z16, by connections (issue 16)
LUA = """
local paths = {%s}
local headers = {%s}
math.randomseed(%d)
request = function()
  return wrk.format("GET", paths[math.random(#paths)], headers)
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


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def dense_tiles(conn, layer, z: int, n: int) -> list[Tile]:
    """The n densest tiles of `layer` at z (the city core), in a fixed order."""
    return [tile for tile, _ in densest_tiles(conn, [layer], z, n)]


def random_tiles(bbox, z: int, n: int, seed: int = 7) -> list[Tile]:
    """n tiles drawn at random (fixed seed) over `bbox` at z, empty ones included."""
    x0, y0 = lonlat_to_tile(bbox[0], bbox[3], z)
    x1, y1 = lonlat_to_tile(bbox[2], bbox[1], z)
    draw = random.Random(seed)
    return [Tile(z, draw.randint(x0, x1), draw.randint(y0, y1)) for _ in range(n)]


def features_per_tile(conn, layer, tiles: list[Tile]) -> tuple[float, float]:
    """(mean features of `layer` per tile, share of empty tiles): the rows each tile's
    statement reads (its buffered envelope on the indexed column)."""
    stmt = sa.select(sa.func.count()).where(layer.table.c.geom_3857.op("&&")(search_envelope()))
    counts = [conn.execute(stmt, {"z": t.z, "x": t.x, "y": t.y}).scalar_one() for t in tiles]
    return statistics.mean(counts), sum(1 for c in counts if c == 0) / len(counts)


def wrk(url_root: str, paths: list[str], seconds: int, conns: int, close: bool = False) -> float:
    """Requests/s of `wrk` asking for paths drawn at random from `paths` (gzip accepted;
    keep-alive unless `close`). Any answer other than 2xx/3xx is reported."""
    headers = '["Accept-Encoding"] = "gzip"' + (', ["Connection"] = "close"' if close else "")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(LUA % (", ".join(f'"{p}"' for p in paths), headers, 7))
    out = subprocess.run(["wrk", f"-t{min(2, conns)}", f"-c{conns}", f"-d{seconds}s", "--timeout", "30s",
                          "-s", fh.name, url_root], capture_output=True, text=True).stdout
    os.unlink(fh.name)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        print(f"    ! {bad.group(1)} non-2xx responses from {url_root}, e.g. {_first_error(url_root, paths)}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def _first_error(url_root: str, paths: list[str]) -> str:
    """The first failing answer among `paths`, asked one by one (what wrk does not say)."""
    for path in paths:
        try:
            urllib.request.urlopen(url_root + path, timeout=30).close()
        except urllib.error.HTTPError as exc:
            return f"{path}: {exc.code} {exc.read()[:200]!r}"
        except OSError as exc:
            return f"{path}: {exc}"
    return "none when asked one by one"


def _pick(name: str, values: list[int]) -> str:
    """A pgbench set-command of `name` to the i-th of `values` (i drawn once per transaction)."""
    cases = " ".join(f"WHEN :i = {i} THEN {v}" for i, v in enumerate(values))
    return f"\\set {name} CASE {cases} END"


def pgbench_script(layer, tiles: list[Tile]) -> str:
    """Our exact tile statement for this layer at the tiles' zoom, the same text with the
    same parameters (z, x, y and the generalisation numbers) as pgbench variables, the
    tile drawn at random from `tiles` for each transaction."""
    z = tiles[0].z
    plan = plan_for(layer, tiles[0], 0 if is_point_layer(layer) else 1)
    stmt = tile_statement([(layer, plan.mode)], with_versions=True)     # as the server runs it
    compiled = stmt.compile(dialect=postgresql.psycopg.dialect())
    values = dict(plan.params(), cell=plan.cell or 1.0)
    sets = [f"\\set i random(0, {len(tiles) - 1})", _pick("x", [t.x for t in tiles]),
            _pick("y", [t.y for t in tiles]), f"\\set z {z}"]
    sets += [f"\\set {name} {values[name]!r}" for name in compiled.params if name in values]
    sql = re.sub(r"%\((\w+)\)s", r":\1", compiled.string).replace("%%", "%")
    return "\n".join(sets) + "\n" + " ".join(sql.split()) + ";\n"


def pgbench(dsn_args: list[str], script: str, seconds: int, conns: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as fh:
        fh.write(script)
    env = dict(os.environ, PGOPTIONS="-c jit=off -c max_parallel_workers_per_gather=0")
    out = subprocess.run(["pgbench", "-n", "-M", "prepared", "-c", str(conns), "-j", str(min(2, conns)),
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


def rounds(contenders: dict, n: int) -> dict[str, list[float]]:
    """Each contender's rate in each of n rounds (after one unmeasured round), the order
    turned round every other round so that none always follows another's load."""
    for run in contenders.values():
        run()
    out: dict[str, list[float]] = {name: [] for name in contenders}
    for i in range(n):
        order = list(contenders) if i % 2 == 0 else list(reversed(contenders))
        for name in order:
            out[name].append(contenders[name]())
    return out


def report(label: str, runs: dict[str, list[float]], target: float | None) -> None:
    """Medians, and the medians of the same-round ratios of ours to the others."""
    print(f"    {label}  [{load()}]")
    for name, rates in runs.items():
        print(f"      {name:<28} {statistics.median(rates):9.1f}/s   (runs: "
              + " ".join(f"{r:.0f}" for r in rates) + ")")
    for other in (name for name in runs if name != "ours"):
        ratio = statistics.median(a / b for a, b in zip(runs["ours"], runs[other]))
        verdict = ""
        if other == "sql" and target is not None:
            verdict = f" (target {target}x) {'OK' if ratio >= target else 'BELOW TARGET'}"
        print(f"      ratio ours/{other}: {ratio:.2f}x{verdict}")


def tipg_best(url_root: str, paths: list[str], seconds: int, conns: int) -> float:
    """TiPg credited with its better mode: keep-alive (its uvicorn workers may pin to one
    connection) or a new connection per request."""
    return max(wrk(url_root, paths, seconds, conns), wrk(url_root, paths, seconds, conns, close=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--connections", default="2,8", help="comma list of concurrent connections")
    ap.add_argument("--rounds", type=int, default=5, help="measured rounds, after one warm-up")
    ap.add_argument("--tiles", type=int, default=32, help="tiles in each list")
    ap.add_argument("--tipg-venv", default="/tmp/tipg-venv")
    ap.add_argument("--zooms", default="16,14", help="comma list of the zooms to measure (12, 14, 16)")
    ap.add_argument("--serve-args", default="--no-access-log",
                    help="options of `gisdb serve` (use --serve-args=...; default: no access log, "
                         "like the nginx baseline)")
    ap.add_argument("--skip", default="", help="comma list of: ours,sql,tipg,random,cached")
    ap.add_argument("--allow-small", action="store_true", help="run on a city under 1M features")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    conn_counts = [int(c) for c in args.connections.split(",")]
    settings = Settings.from_env()
    engine = make_engine(settings, pool_size=2)
    with engine.connect() as conn:
        counts = {layer.id: conn.execute(sa.select(sa.func.count()).select_from(layer.table)).scalar()
                  for layer in ALL_LAYERS}
        bbox = tuple(layer_extent(conn, get_layer("buildings"), estimated=False))
    total = sum(counts.values())
    print(f"database {settings.database_name}: {total:,} features "
          f"({counts['buildings']:,} buildings, {counts['parcels']:,} parcels, {counts['roads']:,} roads)")
    if total < 1_000_000 and not args.allow_small:
        raise SystemExit("the benchmark runs on the million-feature city: "
                         "`gisdb sample --scale 35` into GISDB_DATABASE_NAME (or --allow-small)")
    print(f"machine: {os.cpu_count()} cores, {load()}; connections {conn_counts}, "
          f"{args.seconds} s per run, median of {args.rounds} rounds")
    url = sa.engine.make_url(database_url(settings))
    host = url.query.get("host") or url.host or "localhost"
    host = host[0] if isinstance(host, tuple) else host
    dsn_args = ["-h", host, "-p", str(url.port or 5432), "-U", url.username or "gisdb", url.database]
    procs = []
    try:
        env = dict(os.environ, GISDB_TILE_CACHE_MB="0")
        port, tipg_port = free_port(), free_port()
        ours_root, tipg_root = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{tipg_port}"
        if "ours" not in skip:
            procs.append(start([str(PROJECT / ".venv/bin/gisdb"), "serve", "--no-prepare",
                                "--port", str(port), *args.serve_args.split()], env,
                               Path("/tmp/tiles_bench_ours.log")))
            wait_http(f"{ours_root}/healthz")
        if "tipg" not in skip:
            db = (f"postgresql://{url.username}@{quote_plus(host)}/{url.database}" if host.startswith("/")
                  else f"postgresql://{url.username}@{host}:{url.port or 5432}/{url.database}")
            tipg_env = dict(os.environ, DATABASE_URL=db, TIPG_DB_SCHEMAS='["construction","traffic"]',
                            TIPG_MAX_FEATURES_PER_TILE="10000000")
            procs.append(start([args.tipg_venv + "/bin/uvicorn", "tipg.main:app", "--port", str(tipg_port),
                                "--workers", "4", "--log-level", "warning"], tipg_env,
                               Path("/tmp/tiles_bench_tipg.log")))
            wait_http(f"{tipg_root}/collections")
        zooms = {int(z) for z in args.zooms.split(",")}
        for z, layer_id in [case for case in CASES if case[0] in zooms]:
            layer = get_layer(layer_id)
            with engine.connect() as conn:
                lists = {"dense": dense_tiles(conn, layer, z, args.tiles)}
                if "random" not in skip:
                    lists["random"] = random_tiles(bbox, z, args.tiles)
                shapes = {name: features_per_tile(conn, layer, tiles) for name, tiles in lists.items()}
            for name, tiles in lists.items():
                mean, empty = shapes[name]
                print(f"z{z} {layer_id}, {name} list: {len(tiles)} tiles, {mean:,.0f} {layer_id} per tile "
                      f"on average, {empty:.0%} empty")
                contenders = _contenders(args, skip, layer, tiles, ours_root, tipg_root, dsn_args)
                for conns in conn_counts:
                    runs = rounds({k: (lambda run=run, c=conns: run(c)) for k, run in contenders.items()},
                                  args.rounds)
                    report(f"{conns} connections", runs, TARGETS.get(conns) if z == 16 else None)
        for proc in procs:
            stop(proc)
        procs = []
        if "cached" not in skip:
            with engine.connect() as conn:
                tiles = dense_tiles(conn, get_layer("buildings"), 16, max(args.tiles, 400))
            cached_bench(settings, tiles, args, conn_counts)
    finally:
        for proc in procs:
            stop(proc)
        engine.dispose()


def _contenders(args, skip, layer, tiles: list[Tile], ours_root: str, tipg_root: str,
                dsn_args: list[str]) -> dict:
    """name -> run(connections) -> requests/s, for one layer and tile list."""
    out = {}
    if "ours" not in skip:
        ours = [f"/tiles/{layer.id}/{t.z}/{t.x}/{t.y}.mvt" for t in tiles]
        out["ours"] = lambda c: wrk(ours_root, ours, args.seconds, c)
    if "sql" not in skip:
        script = pgbench_script(layer, tiles)
        out["sql"] = lambda c: pgbench(dsn_args, script, args.seconds, c)
    if "tipg" not in skip:
        fields = ",".join(layer.tile_fields)
        tipg = [f"/collections/{layer.table_name}/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
                f"?geom-column=geom_3857&properties={fields}" for t in tiles]
        out["tipg (best of keep-alive/close)"] = lambda c: tipg_best(tipg_root, tipg, args.seconds, c)
    return out


def cached_bench(settings, tiles: list[Tile], args, conn_counts: list[int]) -> None:
    """Ours with the cache on (the tiles warmed) vs nginx serving the same gzipped bytes."""
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
        paths = [f"/{t.z}/{t.x}/{t.y}.mvt" for t in tiles]
        for path in paths:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/tiles/buildings{path}",
                                         headers={"Accept-Encoding": "gzip"})
            with urllib.request.urlopen(req) as resp:
                body = resp.read()
            target = work / "tiles" / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
        conf = work / "nginx.conf"
        conf.write_text(NGINX_CONF % {"dir": work, "port": nginx_port})
        nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
        nginx = start([nginx_bin, "-c", str(conf), "-g", "daemon off;"], dict(os.environ),
                      Path("/tmp/tiles_bench_nginx.log"))
        wait_http(f"http://127.0.0.1:{nginx_port}{paths[0]}")
        print(f"cached z16 buildings ({len(tiles)} dense tiles, warmed), ours vs nginx on the same bytes:")
        for conns in conn_counts:
            runs = rounds({
                "ours": lambda: wrk(f"http://127.0.0.1:{port}", ["/tiles/buildings" + p for p in paths],
                                    args.seconds, conns),
                "nginx": lambda: wrk(f"http://127.0.0.1:{nginx_port}", paths, args.seconds, conns)},
                args.rounds)
            report(f"{conns} connections", runs, None)
    finally:
        stop(ours)
        if nginx is not None:
            stop(nginx)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
