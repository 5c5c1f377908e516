"""Benchmark (run by hand): `items?bbox=...&limit=1000` and `limit=10000` on buildings.

Compares, in the same run, alternating, at 2 and 8 connections (`--connections`):
  - ours: `webmap` under Granian, as `gisdb serve --no-prepare` runs it, driven by `wrk`
    with keep-alive;
  - pygeoapi: pip-installed in a separate venv, PostgreSQL provider, same database,
    table and query, driven with keep-alive and with `Connection: close` (credited with
    its better mode);
  - the SQL ceiling: the same FeatureCollection built by PostgreSQL (our page statement,
    its features joined with `string_agg` into one document) under `pgbench`, so no
    Python sits in the ceiling.
Boxes are fixed squares of the dense core (Hải Châu) holding more buildings than the page
(printed). Prints medians (requests/s, features/s) and ours/ceiling, ours/pygeoapi.

    GISDB_DATABASE_NAME=gisdb_big gisdb sample --scale 35        # the million-feature city
    .venv/bin/python bench/features_bench.py --database-name gisdb_big \
        --pygeoapi-venv /tmp/pygeoapi-venv
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
from dataclasses import replace
from pathlib import Path

import psycopg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from servers import free_port, wait_http  # noqa: E402

from gisdb.engine import database_url, make_engine  # noqa: E402
from gisdb.settings import Settings  # noqa: E402
from layers.registry import get_layer  # noqa: E402
from webmap.api.items_sql import page_statements  # noqa: E402
from webmap.api.params import parse_items_query  # noqa: E402

PYGEOAPI_CONFIG = """
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  languages: [en-US]
  limits: {{default_items: 100, max_items: 10000}}
  map: {{url: "https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png", attribution: osm}}
logging: {{level: WARNING}}
metadata:
  identification: {{title: bench, description: bench, keywords: [bench], keywords_type: theme,
                    terms_of_service: none, url: http://example.org}}
  license: {{name: CC-BY 4.0, url: https://creativecommons.org/licenses/by/4.0/}}
  provider: {{name: bench, url: http://example.org}}
  contact: {{name: bench, position: bench, address: x, city: x, stateorprovince: x,
            postalcode: x, country: x, phone: x, fax: x, email: x@example.org, url: x,
            hours: x, instructions: x, role: pointOfContact}}
resources:
  buildings:
    type: collection
    title: buildings
    description: buildings
    keywords: [buildings]
    extents:
      spatial: {{bbox: [107.9, 15.9, 108.4, 16.2], crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84}}
    providers:
      - type: feature
        name: PostgreSQL
        data: {{host: {pghost}, port: {pgport}, dbname: {dbname}, user: {user}, search_path: [construction, public]}}
        id_field: id
        table: buildings
        geom_field: geom
        properties: [{properties}]
"""


BOXES = {1000: (108.1957, 16.0369, 108.2057, 16.0469),       # ~3,500 buildings at scale 35
         10_000: (108.1903, 16.0317, 108.2177, 16.0591)}     # ~21,600


def wrk_rate(url: str, seconds: int, connections: int, close: bool = False) -> float:
    """Requests/s of `wrk` fetching `url` over `connections` connections (keep-alive
    unless `close`); any non-2xx answer stops the benchmark."""
    cmd = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s",
           "-H", "Accept: application/geo+json"] + (["-H", "Connection: close"] if close else []) + [url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"{url}: errors\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def ceiling_sql(settings: Settings, bbox, limit: int) -> str:
    """Our page statement with its values, its features joined into a FeatureCollection."""
    layer = get_layer("buildings")
    q = parse_items_query(layer, [("bbox", ",".join(map(str, bbox))), ("limit", str(limit))])
    stmt, _, values = page_statements(layer, q, extra=0)
    engine = make_engine(settings, pool_size=1)
    compiled = stmt.compile(dialect=engine.dialect)
    with engine.raw_connection() as raw:
        page = psycopg.ClientCursor(raw.driver_connection).mogrify(str(compiled), compiled.construct_params(values))
    engine.dispose()
    return ("SELECT '{\"type\": \"FeatureCollection\", \"features\": [' || string_agg(feature, ',') "
            f"|| ']}}' FROM ({page}) fc;\n")


def pgbench_rate(settings: Settings, sql_file: Path, seconds: int, connections: int) -> float:
    """Transactions/s of `pgbench` running `sql_file` (the ceiling)."""
    url = sa.engine.make_url(database_url(settings))
    host = url.query.get("host") or url.host or str(settings.cluster_dir / "run")
    port = str(url.port or url.query.get("port") or 5432)
    out = subprocess.run(["pgbench", "-n", "-h", host, "-p", port, "-U", url.username or "gisdb",
                          "-c", str(connections), "-j", str(min(2, connections)), "-T", str(seconds),
                          "-f", str(sql_file), url.database], capture_output=True, text=True, check=True).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


def start_ours(settings_env: dict, port: int, workers: int) -> subprocess.Popen:
    from scripts.serve import server_command  # the very command `gisdb serve` runs
    return subprocess.Popen(server_command("127.0.0.1", port, workers, 2, access_log=False),
                            cwd=ROOT, env=settings_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_pygeoapi(venv: Path, settings: Settings, port: int, workers: int, tmp: Path) -> subprocess.Popen:
    url = sa.engine.make_url(database_url(settings))
    pghost = url.host or url.query.get("host") or str(settings.cluster_dir / "run")
    config = tmp / "pygeoapi.yml"
    config.write_text(PYGEOAPI_CONFIG.format(port=port, pghost=pghost, pgport=url.port or url.query.get("port") or 5432,
                                             dbname=url.database, user=url.username or "gisdb",
                                             properties=", ".join(f.name for f in get_layer("buildings").fields)))
    openapi = tmp / "openapi.yml"
    env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    subprocess.run([str(venv / "bin" / "pygeoapi"), "openapi", "generate", str(config),
                    "--output-file", str(openapi)], env=env, check=True, capture_output=True)
    return subprocess.Popen([str(venv / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{port}",
                             "--workers", str(workers), "--timeout", "120",
                             "pygeoapi.flask_app:APP"], env=env, cwd=tmp,
                            stdout=subprocess.DEVNULL, stderr=open(tmp / "pygeoapi.log", "wb"))


def _in_box(engine, bbox) -> int:
    t = get_layer("buildings").table
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(t).where(
            sa.func.ST_Intersects(t.c.geom, sa.func.ST_MakeEnvelope(*bbox, 4326)))).scalar()


def measure(args, settings, ours: str, pyg: str | None, tmp: Path) -> dict:
    """Median requests/s per (limit, connections, system), the systems alternating."""
    results = {}
    for limit, bbox in BOXES.items():
        sql_file = tmp / f"fc_{limit}.sql"
        sql_file.write_text(ceiling_sql(settings, bbox, limit))
        box = ",".join(map(str, bbox))
        urls = {"ours": f"{ours}/collections/buildings/items?bbox={box}&limit={limit}"}
        if pyg:
            urls["pygeoapi"] = f"{pyg}/collections/buildings/items?bbox={box}&limit={limit}&f=json"
        for conns in args.connections:
            runs: dict[str, list[float]] = {"sql": [], **{k: [] for k in urls}}
            for url in urls.values():
                wrk_rate(url, 2, conns)                              # warm up
            for _ in range(args.rounds):                             # interleaved rounds
                runs["sql"].append(pgbench_rate(settings, sql_file, args.seconds, conns))
                runs["ours"].append(wrk_rate(urls["ours"], args.seconds, conns))
                if pyg:
                    runs["pygeoapi"].append(max(wrk_rate(urls["pygeoapi"], args.seconds, conns),
                                                wrk_rate(urls["pygeoapi"], args.seconds, conns, close=True)))
            results[limit, conns] = {k: statistics.median(v) for k, v in runs.items()}
    return results


def report(results: dict, in_box: dict) -> None:
    """The medians and the same-run ratios."""
    print(f"\n{'limit':>6} {'conns':>5} {'system':<10} {'req/s':>9} {'features/s':>12}")
    for (limit, conns), med in results.items():
        n = min(limit, in_box[limit])
        for name, rps in med.items():
            print(f"{limit:>6} {conns:>5} {name:<10} {rps:>9.1f} {rps * n:>12,.0f}")
        line = f"{limit:>6} {conns:>5} ratios: ours/sql-ceiling = {med['ours'] / med['sql']:.2f} (target >= 0.85)"
        if "pygeoapi" in med:
            line += f", ours/pygeoapi = {med['ours'] / med['pygeoapi']:.1f}x"
        print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-name", default="gisdb_big")
    ap.add_argument("--pygeoapi-venv", type=Path, default=Path("/tmp/pygeoapi-venv"))
    ap.add_argument("--seconds", type=int, default=8, help="length of one measurement")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, nargs="+", default=[2, 8])
    ap.add_argument("--workers", type=int, default=4,
                    help="worker processes of both servers (4, as `gisdb serve` runs)")
    args = ap.parse_args()

    settings = replace(Settings.from_env(), database_name=args.database_name)
    engine = make_engine(settings)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE construction.buildings")
        features = conn.execute(sa.text(
            "SELECT sum(n_live_tup) FROM pg_stat_user_tables "
            "WHERE schemaname IN ('land', 'construction', 'traffic') "
            "AND relname <> 'traffic_counts'")).scalar()
    in_box = {limit: _in_box(engine, bbox) for limit, bbox in BOXES.items()}
    engine.dispose()
    print(f"database {args.database_name}: {features:,} features")
    for limit, bbox in BOXES.items():
        print(f"limit={limit}: bbox {bbox} holds {in_box[limit]:,} buildings")

    ours_port, pyg_port = free_port(), free_port()
    env = {**os.environ, "GISDB_DATABASE_NAME": args.database_name}
    tmp = Path(tempfile.mkdtemp(prefix="features-bench-"))
    servers = [start_ours(env, ours_port, args.workers)]
    have_pygeoapi = (args.pygeoapi_venv / "bin" / "pygeoapi").exists()
    if have_pygeoapi:
        servers.append(start_pygeoapi(args.pygeoapi_venv, settings, pyg_port, args.workers, tmp))
    try:
        ours, pyg = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{pyg_port}" if have_pygeoapi else None
        wait_http(f"{ours}/conformance")
        if pyg:
            wait_http(f"{pyg}/conformance")
        report(measure(args, settings, ours, pyg, tmp), in_box)
    finally:
        for proc in servers:
            proc.terminate()
        for proc in servers:
            proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
