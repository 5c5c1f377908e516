"""Buildings at z14 on the million-feature city, end to end (run by hand, never in tests):
ours against the naive SQL ceiling and TiPg 1.6, on the same tiles (issue 16's targets:
ours >= 1.2x the naive ceiling and >= 1.3x TiPg).

    .venv/bin/gisdb sample --scale 35                     # ~1M features
    python3 -m venv /tmp/tipg-venv && /tmp/tipg-venv/bin/pip install "tipg==1.6.*" uvicorn
    .venv/bin/python bench/z14_bench.py [--seconds 6 --repeat 5 --tipg-venv /tmp/tipg-venv]

Tiles: the dense list is the densest z14 tile of buildings (tiles.density) and its 8
neighbours, all non-empty, fetched round robin; the random list is --random non-empty
tiles drawn over the buildings' extent (seed 1), reported apart. The mean buildings per
tile of each list is printed beside it. Contenders, alternated within each round (the
order rotating from round to round), at --connections:
  - ours: `gisdb serve --no-prepare` (Granian, as shipped), tile cache off, through wrk;
  - ours' SQL: the very statement our server runs (tiles_bench.pgbench_script), pgbench;
  - naive: the naive per-tile SQL (z14_sql_bench.NAIVE: ST_AsMVTGeom over the full
    geometries, every tile field with its numeric cast, the envelope as a function of
    the parameters) under `pgbench -M prepared`: the ceiling the target is set against;
  - TiPg 1.6 (uvicorn, 4 workers) on the same table, geometry column and fields, its
    10,000-features cut lifted, driven with keep-alive and with `Connection: close` and
    credited with its better mode.
Every HTTP client asks for gzip. Prints tiles/s per contender (median of --repeat rounds)
and the medians of the same-round ratios, with the load average beside them.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote_plus

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa  # noqa: E402
from servers import free_port, wait_http  # noqa: E402
from tiles_bench import PROJECT, pgbench_script, start, stop  # noqa: E402
from z14_sql_bench import NAIVE  # noqa: E402

from gisdb.engine import database_url, make_engine  # noqa: E402
from gisdb.settings import Settings  # noqa: E402
from layers.extent import layer_extent  # noqa: E402
from layers.registry import get_layer  # noqa: E402
from tiles.density import densest_tile  # noqa: E402
from tiles.grid import Tile, tiles_in_bbox  # noqa: E402

Z = 14
LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""


def buildings_in(conn, tile: Tile) -> int:
    geom = get_layer("buildings").table.c.geom_3857
    return conn.execute(sa.select(sa.func.count()).where(
        geom.op("&&")(sa.func.ST_TileEnvelope(Z, tile.x, tile.y)))).scalar_one()


def tile_lists(conn, count: int) -> dict[str, list[tuple[Tile, int]]]:
    """{'dense': the densest tile and its neighbours, 'random': random non-empty tiles},
    each tile with its number of buildings."""
    layer = get_layer("buildings")
    centre, _ = densest_tile(conn, [layer], Z)
    dense = [Tile(Z, centre.x + dx, centre.y + dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    extent = layer_extent(conn, layer, estimated=False)
    candidates = list(tiles_in_bbox((extent.west, extent.south, extent.east, extent.north), Z))
    random.Random(1).shuffle(candidates)
    chosen = []
    for tile in candidates:
        n = buildings_in(conn, tile)
        if n:
            chosen.append((tile, n))
        if len(chosen) >= count:
            break
    lists = {"dense": [(t, buildings_in(conn, t)) for t in dense], "random": chosen}
    assert all(n for _, n in lists["dense"]), "a dense tile is empty"
    return lists


def wrk(root: str, paths: list[str], seconds: int, conns: int, close: bool) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(LUA % ", ".join(f'"{p}"' for p in paths))
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--timeout", "60s", "-s", fh.name,
           "-H", "Accept-Encoding: gzip"] + (["-H", "Connection: close"] if close else []) + [root]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    os.unlink(fh.name)
    if re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        raise SystemExit(f"{root}{paths[0]}: non-2xx answers\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def pgbench(dsn: list[str], scripts: list[str], seconds: int, conns: int) -> float:
    """tiles/s of pgbench -M prepared running the scripts (one per tile) in equal shares."""
    files = []
    for script in scripts:
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as fh:
            fh.write(script)
        files.append(fh.name)
    env = dict(os.environ, PGOPTIONS="-c jit=off -c max_parallel_workers_per_gather=0")
    out = subprocess.run(["pgbench", "-n", "-M", "prepared", "-c", str(conns), "-j", str(min(2, conns)),
                          "-T", str(seconds), *[a for f in files for a in ("-f", f)], *dsn],
                         capture_output=True, text=True, env=env)
    for name in files:
        os.unlink(name)
    found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out.stdout)
    if not found:
        raise RuntimeError(out.stderr[-2000:])
    return float(found.group(1))


def naive_script(ours: str, tile: Tile) -> str:
    """The naive statement with our script's generalisation values, at `tile`."""
    sets = [line for line in ours.splitlines() if line.startswith("\\set")
            and not line.startswith(("\\set x", "\\set y"))]
    return "\n".join(sets + [f"\\set x {tile.x}", f"\\set y {tile.y}", NAIVE])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--random", type=int, default=12, help="tiles in the random list")
    parser.add_argument("--tipg-venv", default="/tmp/tipg-venv")
    parser.add_argument("--skip", default="", help="comma list of: tipg")
    args = parser.parse_args()
    settings = Settings.from_env()
    engine = make_engine(settings)
    layer = get_layer("buildings")
    with engine.connect() as conn:
        lists = tile_lists(conn, args.random)
    url = sa.engine.make_url(database_url(settings))
    host = url.query.get("host") or url.host or "localhost"
    host = host[0] if isinstance(host, tuple) else host
    dsn = ["-h", host, "-p", str(url.port or 5432), "-U", url.username or "gisdb", url.database]
    procs = []
    try:
        port = free_port()
        procs.append(start([str(PROJECT / ".venv/bin/gisdb"), "serve", "--no-prepare", "--no-access-log",
                            "--port", str(port)], dict(os.environ, GISDB_TILE_CACHE_MB="0"),
                           Path("/tmp/z14_bench_ours.log")))
        wait_http(f"http://127.0.0.1:{port}/healthz")
        tipg_port = free_port()
        if "tipg" not in args.skip:
            db = (f"postgresql://{url.username}@{quote_plus(host)}/{url.database}" if host.startswith("/")
                  else f"postgresql://{url.username}@{host}:{url.port or 5432}/{url.database}")
            procs.append(start([args.tipg_venv + "/bin/uvicorn", "tipg.main:app", "--port", str(tipg_port),
                                "--workers", "4", "--log-level", "warning"],
                               dict(os.environ, DATABASE_URL=db, TIPG_DB_SCHEMAS='["construction"]',
                                    TIPG_MAX_FEATURES_PER_TILE="10000000"), Path("/tmp/z14_bench_tipg.log")))
            wait_http(f"http://127.0.0.1:{tipg_port}/collections")
        fields = ",".join(layer.tile_fields)
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
              f"{args.connections} connections, {args.seconds} s per run, {args.repeat} rounds")
        for name, tiles in lists.items():
            ours_sql = [pgbench_script(layer, [t]) for t, _ in tiles]
            contenders = {
                "ours": lambda: wrk(f"http://127.0.0.1:{port}", [
                    f"/tiles/buildings/{Z}/{t.x}/{t.y}.mvt" for t, _ in tiles],
                    args.seconds, args.connections, False),
                "ours SQL": lambda: pgbench(dsn, ours_sql, args.seconds, args.connections),
                "naive SQL": lambda: pgbench(dsn, [naive_script(s, t) for s, (t, _) in zip(ours_sql, tiles)],
                                             args.seconds, args.connections),
            }
            if "tipg" not in args.skip:
                paths = [f"/collections/{layer.table_name}/tiles/WebMercatorQuad/{Z}/{t.x}/{t.y}"
                         f"?geom-column=geom_3857&properties={fields}" for t, _ in tiles]
                root = f"http://127.0.0.1:{tipg_port}"
                contenders["TiPg keep-alive"] = lambda: wrk(root, paths, args.seconds, args.connections, False)
                contenders["TiPg close"] = lambda: wrk(root, paths, args.seconds, args.connections, True)
            for run in contenders.values():                       # warm-up, unmeasured
                run()
            rounds: list[dict[str, float]] = []
            order = list(contenders)
            for r in range(args.repeat):
                turn = order[r % len(order):] + order[:r % len(order)]
                rounds.append({c: contenders[c]() for c in turn})
            for result in rounds:
                if "TiPg close" in result:
                    result["TiPg"] = max(result["TiPg keep-alive"], result["TiPg close"])
            mean = statistics.mean(n for _, n in tiles)
            print(f"\n{name} list: {len(tiles)} tiles, mean {mean:,.0f} buildings per tile "
                  f"[load {os.getloadavg()[0]:.1f}]")
            for c in rounds[0]:
                print(f"  {c:<16}{statistics.median(r[c] for r in rounds):8.1f} tiles/s  "
                      f"{[round(r[c], 1) for r in rounds]}")
            for base, target in (("naive SQL", 1.2), ("TiPg", 1.3)):
                if base in rounds[0]:
                    ratio = statistics.median(r["ours"] / r[base] for r in rounds)
                    print(f"  ours / {base}: {ratio:.2f}x (target {target}x) "
                          f"{'OK' if ratio >= target else 'BELOW TARGET'}")
            ratio = statistics.median(r["ours SQL"] / r["naive SQL"] for r in rounds)
            print(f"  ours SQL / naive SQL: {ratio:.2f}x (the data side alone)")
    finally:
        for proc in procs:
            stop(proc)


if __name__ == "__main__":
    main()
