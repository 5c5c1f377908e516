"""A planners' morning under load (run by hand, never in tests): the map's own mix of
requests (overlay tiles at the zooms planners work at in the dense core, identify clicks,
searches) from wrk, while a bulk reader (another city system) pages a whole layer by its
`next` links and an IOC operator edits incidents and identifies each right after saving;
p50/p95/p99 and errors at 1, 4, 16, 64 connections, on 1 node (primary only) and on 2
nodes reading from a real streaming replica of the embedded cluster, behind nginx as the
load balancer in both cases.

    GISDB_DATABASE_NAME=load_bench .venv/bin/gisdb sample --scale 35      # ~1M features
    GISDB_DATABASE_NAME=load_bench .venv/bin/python bench/morning_bench.py

1. The mix is taken from the map itself: headless Chromium (Playwright, Debian's
   chromium) opens /map on Hải Châu at z16 with the default layers, pans, zooms in, clicks
   a building and searches; every request it makes is classified (overlay tile, base
   tile, identify, search, other) and counted. `--mix-only` stops there.
2. wrk (Debian's, Lua) replays that mix over fixed lists: overlay PNG tiles at the
   versioned URLs the map uses (/tiles/v{version}/{layer}/...), base tiles, identify at
   building centroids and searches from a list of ward and street names, all around a
   seeded sample of buildings of the dense core (zooms 15-17). A Lua `done()` prints the
   latency percentiles and the errors (non-2xx/3xx, timeouts, socket errors).
3. At the same time a Python thread pages /collections/buildings/items?limit=1000 by
   `next` links from the start, one page after another (its pages/s and page latencies).
4. And an IOC operator (bench/morning_editor.py) edits an incident about once a second
   through the API (writes go to the primary) and identifies it right after with the
   write's `Gisdb-Lsn` (read-your-writes: a replica answers only once it has replayed
   the write); it counts stale reads, which must stay 0.
5. "1 node" is one `gisdb serve --workers W --threads 2` behind nginx on the primary;
   "2 nodes + replica" is two such nodes behind another nginx, reading from a streaming
   standby of the embedded cluster made for the run (`pg_basebackup -R` into a temporary
   data directory with its own socket, gisdb/replicas/standby.py) with
   `GISDB_READ_URL`, writing to the primary. They run alternately at each concurrency
   (which goes first alternates too): the ratio is of two runs in the same moment. The
   standby runs on the same machine: on 2 cores it competes with the primary and the
   nodes for the same CPU (it replays the WAL and answers the reads), so this measures
   the routing's cost and the replica's behaviour under load, not added capacity.
   Enabling the standby sets the embedded cluster's WAL to `replica` (restarting it once;
   it stays so). `--no-replica` compares 1 node with 2 nodes on the primary instead.

Tile cache on, as deployed: after the warm-up most tiles of the fixed lists are cache
hits, as when many planners look at the same centre each morning; `--cold` turns it off
(every tile rendered: the worst morning, after a big import).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

import sqlalchemy as sa  # noqa: E402
from morning_editor import Editor, editor_key, incident_points  # noqa: E402
from servers import free_port, wait_http  # noqa: E402

from gisdb.cluster import Cluster  # noqa: E402
from gisdb.engine import make_engine  # noqa: E402
from gisdb.replicas.standby import create_standby, enable_replication  # noqa: E402
from gisdb.roles import WEB_ROLE  # noqa: E402
from gisdb.settings import Settings  # noqa: E402
from tiles.grid import lonlat_to_tile  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CORE = (108.2208, 16.0600)               # Hải Châu
CORE_RADIUS = 0.02                       # degrees around it: the dense core
MAP_LAYERS = ("admin_units", "parcels", "buildings", "roads")
SEARCHES = ("hai chau", "Hải Châu", "thanh khe", "Hòa Cường", "nguyen van linh", "bach dang",
            "Lê Duẩn", "son tra", "ngu hanh son", "tran phu", "cam le", "hoa xuan")
KINDS = ("overlay", "base", "identify", "search", "other")

LUA = """
local paths = {%s}
local i = math.random(#paths)
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i], {["Accept-Encoding"] = "gzip"})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%.3f %%.3f %%.3f %%d %%d %%d %%d %%d\\n",
    summary.requests, summary.duration, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def classify(url: str) -> str:
    """The kind of one request of the map."""
    path = url.split("//", 1)[-1].split("/", 1)[-1]
    if re.match(r"tiles/base/", path):
        return "base"
    if re.match(r"tiles/(v\d+/)?[a-z_,]+/\d+/\d+/\d+", path):
        return "overlay"
    if path.startswith("query/identify"):
        return "identify"
    if path.startswith("search"):
        return "search"
    return "other"


def capture_mix(base: str) -> dict[str, int]:
    """Requests of one planner's few minutes on the map, counted by kind."""
    from playwright.sync_api import sync_playwright
    asked: list[str] = []
    lon, lat = CORE
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]|data:|blob:|about:)"), lambda r: r.abort())
        page.on("request", lambda r: asked.append(r.url))
        page.goto(f"{base}/map#16/{lat}/{lon}/{','.join(MAP_LAYERS)}/city", wait_until="networkidle")
        for dx, dy in ((400, 0), (0, 300), (-600, -200)):
            page.evaluate("([dx, dy]) => gisdbMap.map.panBy([dx, dy], {animate: false})", [dx, dy])
            page.wait_for_load_state("networkidle")
        page.evaluate("() => gisdbMap.map.setZoom(17, {animate: false})")
        page.wait_for_load_state("networkidle")
        box = page.locator("#map, .folium-map").first.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_load_state("networkidle")
        page.locator("input.gisdb-search-input").first.type("hai chau", delay=120)
        page.wait_for_load_state("networkidle")
        time.sleep(1.0)
        browser.close()
    mix = dict.fromkeys(KINDS, 0)
    for url in asked:
        mix[classify(url)] += 1
    examples = {classify(u): u.split("//", 1)[-1].split("/", 1)[-1][:90] for u in asked}
    print("examples:", json.dumps(examples, ensure_ascii=False, indent=1), flush=True)
    return mix


def core_points(settings: Settings, count: int) -> list[tuple[float, float]]:
    """Centroids of a seeded random sample of the dense core's buildings."""
    engine = make_engine(settings, pool_size=1)
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT setseed(0.42)")
        rows = conn.execute(sa.text(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) AS c FROM construction.buildings "
            "WHERE geom && ST_Expand(ST_SetSRID(ST_MakePoint(:x, :y), 4326), :r) "
            "ORDER BY random() LIMIT :n) s"),
            {"n": count, "x": CORE[0], "y": CORE[1], "r": CORE_RADIUS}).all()
    engine.dispose()
    return [(float(x), float(y)) for x, y in rows]


def request_list(points, mix: dict[str, int], versions: dict[str, int], size: int = 1500) -> list[str]:
    """`size` requests in the map's proportions around `points`."""
    total = sum(mix[k] for k in ("overlay", "base", "identify", "search")) or 1
    out: list[str] = []
    for i in range(size):
        x, y = points[i % len(points)]
        roll = (i * 7919) % total                     # deterministic spread of the kinds
        z = 15 + i % 3
        col, row = lonlat_to_tile(x, y, z)
        if roll < mix["overlay"]:
            layer = MAP_LAYERS[i % len(MAP_LAYERS)]
            out.append(f"/tiles/v{versions[layer]}/{layer}/{z}/{col}/{row}.png")
        elif roll < mix["overlay"] + mix["base"]:
            out.append(f"/tiles/base/{z}/{col}/{row}.png")
        elif roll < mix["overlay"] + mix["base"] + mix["identify"]:
            out.append(f"/query/identify?lon={x:.7f}&lat={y:.7f}&layers={','.join(MAP_LAYERS)}"
                       "&tolerance=1.2")
        else:
            out.append("/search?q=" + urllib.request.quote(SEARCHES[i % len(SEARCHES)]) + "&limit=10")
    return out


def wrk(url: str, paths: list[str], seconds: int, conns: int) -> dict:
    """One wrk run: requests/s, p50/p95/p99 in ms and errors."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(LUA % ",".join(json.dumps(p) for p in paths))
    threads = min(conns, 2)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--timeout", "30s",
                          "-s", fh.name, url], capture_output=True, text=True).stdout
    os.unlink(fh.name)
    found = re.search(r"RESULT (.*)", out)
    if found is None:
        raise SystemExit("wrk gave no result:\n" + out)
    n, duration, p50, p95, p99, connect, read, write, status, timeout = found.group(1).split()
    return {"rps": int(n) / (int(duration) / 1e6), "p50": float(p50), "p95": float(p95),
            "p99": float(p99), "requests": int(n), "status": int(status), "timeout": int(timeout),
            "socket": int(connect) + int(read) + int(write)}


class BulkReader(threading.Thread):
    """Another city system paging a whole layer by `next` links until stopped."""

    def __init__(self, base: str, layer: str = "buildings", limit: int = 1000):
        super().__init__(daemon=True)
        self.first = f"{base}/collections/{layer}/items?limit={limit}"
        self.base = base
        self.latencies: list[float] = []
        self.errors = 0
        self.last_error = ""
        self.stop = threading.Event()

    def run(self) -> None:
        url = self.first
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(url, timeout=60) as resp:
                    doc = json.load(resp)
                self.latencies.append(time.perf_counter() - started)
                nxt = [link["href"] for link in doc.get("links", []) if link.get("rel") == "next"]
                url = nxt[0] if nxt else self.first
            except OSError as exc:
                self.errors += 1
                self.last_error = str(exc)[:120]
                url = self.first

    def report(self, seconds: float) -> str:
        ms = sorted(x * 1000 for x in self.latencies) or [0.0]
        pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
        return (f"bulk {len(self.latencies) / seconds:5.1f} pages/s p50 {pick(0.5):6.0f} "
                f"p95 {pick(0.95):6.0f} ms err {self.errors} {self.last_error}")


NGINX = """
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  upstream nodes {{ {servers} keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://nodes;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_buffering on;
      proxy_read_timeout 60s;
    }}
  }}
}}
"""


def start_nginx(ports: list[int], into: Path) -> tuple[subprocess.Popen, int]:
    """An nginx balancing over the nodes on `ports` (round robin); its port."""
    into.mkdir(parents=True, exist_ok=True)
    port = free_port()
    servers = " ".join(f"server 127.0.0.1:{p};" for p in ports)
    conf = into / "nginx.conf"
    conf.write_text(NGINX.format(prefix=into, servers=servers, port=port))
    proc = subprocess.Popen(["nginx", "-p", str(into), "-c", str(conf)], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=open(into / "stderr.log", "w"))
    return proc, port


def start_node(env: dict, port: int, workers: int, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-c", "from scripts.cli import main; main()", "serve", "--no-prepare",
           "--no-access-log", "--port", str(port), "--workers", str(workers), "--threads", "2"]
    return subprocess.Popen(cmd, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(procs) -> None:
    for proc in procs:
        try:
            os.killpg(proc.pid, 15)
            proc.wait(20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, 9)
            except ProcessLookupError:
                pass


def streaming_standby(settings: Settings, into: Path) -> tuple[Cluster, str]:
    """A standby of the embedded cluster in `into` (`pg_basebackup -R`), started; the
    web read role's URL of the bench database on it. The primary gets replica-level WAL
    (restarted once when it had minimal WAL)."""
    primary = Cluster(settings)
    engine = sa.create_engine(primary.url("postgres"), poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        wal = conn.exec_driver_sql("SHOW wal_level").scalar()
    engine.dispose()
    enable_replication(primary)
    if wal != "replica":
        print("restarting the embedded cluster with replica-level WAL", flush=True)
        primary.stop()
        primary.start()
        enable_replication(primary)
    standby = Cluster(Settings(data_dir=into))
    started = time.perf_counter()
    create_standby(primary, standby)
    print(f"streaming standby made in {time.perf_counter() - started:.0f} s "
          f"(pg_basebackup of the whole cluster)", flush=True)
    return standby, standby.url(settings.database_name, user=WEB_ROLE)


def measure(name: str, url: str, paths: list[str], seconds: int, conns: int, writer) -> dict:
    """One level: wrk's mix with the bulk reader and the IOC editor beside it."""
    bulk, editor = BulkReader(url), writer(url)
    bulk.start()
    editor.start()
    got = wrk(url, paths, seconds, conns)
    for side in (bulk, editor):
        side.stop.set()
        side.join(70)
    print(f"{name:17s} {conns:3d} conns: {got['rps']:7.1f} req/s  p50 {got['p50']:7.1f}  "
          f"p95 {got['p95']:7.1f}  p99 {got['p99']:7.1f} ms  errors: status {got['status']} "
          f"timeout {got['timeout']} socket {got['socket']} of {got['requests']} | "
          f"{bulk.report(seconds)} | {editor.report()}", flush=True)
    return got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--connections", default="1,4,16,64")
    ap.add_argument("--workers", type=int, default=2, help="worker processes per node")
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=40, help="seconds of warm-up per balancer")
    ap.add_argument("--cold", action="store_true", help="tile cache off")
    ap.add_argument("--mix-only", action="store_true")
    ap.add_argument("--no-replica", action="store_true",
                    help="2 nodes on the primary instead of 2 nodes + a streaming replica")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))     # clean up the nodes and standby
    settings = Settings.from_env()
    env = {**os.environ, "GISDB_WRITES": "1"}
    env.pop("GISDB_READ_URL", None)
    if args.cold:
        env["GISDB_TILE_CACHE_MB"] = "0"
    work = Path(tempfile.mkdtemp(prefix="morning_"))
    ports = [free_port(), free_port(), free_port()]
    nodes = [start_node(env, ports[0], args.workers, work / "node1.log")]
    standby = None
    try:
        wait_http(f"http://127.0.0.1:{ports[0]}/healthz")
        mix = capture_mix(f"http://127.0.0.1:{ports[0]}")
        print("the map's requests (one planner, a few minutes):", mix, flush=True)
        if args.mix_only:
            return
        pair_env, pair = dict(env), "2 nodes"
        if not args.no_replica:
            stop(nodes)                                  # (the primary may restart)
            standby, pair_env["GISDB_READ_URL"] = streaming_standby(settings, work / "standby")
            nodes = [start_node(env, ports[0], args.workers, work / "node1.log")]
            pair = "2 nodes + replica"
        nodes += [start_node(pair_env, port, args.workers, work / f"node{n}.log")
                  for n, port in enumerate(ports[1:], 2)]
        for port in ports:
            wait_http(f"http://127.0.0.1:{port}/healthz")
        balancers = [start_nginx(ports[:1], work / "lb1"), start_nginx(ports[1:], work / "lb2")]
        nodes += [proc for proc, _ in balancers]
        urls = {"1 node": f"http://127.0.0.1:{balancers[0][1]}",
                pair: f"http://127.0.0.1:{balancers[1][1]}"}
        for url in urls.values():
            wait_http(url + "/healthz")
        with urllib.request.urlopen(urls["1 node"] + "/tiles/versions") as resp:
            versions = json.load(resp)["versions"]
        paths = request_list(core_points(settings, args.points), mix, versions)
        key, incidents = editor_key(settings), incident_points(settings, CORE)
        writer = lambda url: Editor(url, key, incidents)  # noqa: E731
        print(f"{len(paths)} requests in the list; {os.cpu_count()} cores; {args.workers} workers "
              f"x 2 threads per node; {args.seconds} s per run; tile cache "
              f"{'off' if args.cold else 'on'}; {pair}; load {os.getloadavg()[0]:.1f}", flush=True)
        for url in urls.values():
            wrk(url, paths, args.warmup, 8)              # warm-up (and the tile cache)
        for level, conns in enumerate(int(c) for c in args.connections.split(",")):
            order = list(urls) if level % 2 == 0 else list(reversed(urls))
            got = {name: measure(name, urls[name], paths, args.seconds, conns, writer) for name in order}
            print(f"         {pair} / 1 node: throughput {got[pair]['rps'] / got['1 node']['rps']:.2f}x, "
                  f"p95 {got[pair]['p95'] / max(got['1 node']['p95'], 1e-9):.2f}x; "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        stop(nodes)
        if standby is not None:
            standby.stop()
            shutil.rmtree(standby.root, ignore_errors=True)


if __name__ == "__main__":
    main()
