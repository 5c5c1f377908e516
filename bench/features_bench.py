"""Benchmark (run by hand): `items?bbox=...&limit=1000` and `limit=10000` on buildings.

Compares, in the same run and at the same concurrency (2 connections):
  - ours: `webmap` under Granian, as `gisdb serve --no-prepare` runs it;
  - pygeoapi: pip-installed in a separate venv, PostgreSQL provider, same database,
    table and query;
  - the SQL ceiling: the very statement our server runs plus the same FeatureCollection
    assembly, directly with psycopg (no HTTP), one thread per connection.
HTTP is driven by keep-alive clients in threads (one per connection), the same loop as
the SQL ceiling, so every system is measured the same way.
Prints medians (requests/s and features/s) and the ratios ours/pygeoapi, ours/ceiling.

    GISDB_DATABASE_NAME=gisdb_bench_ogc gisdb sample --scale 45   # ~1.3 M features
    .venv/bin/python bench/features_bench.py --database-name gisdb_bench_ogc \
        --pygeoapi-venv /tmp/pygeoapi-venv
"""
from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
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


def _rate(run, done: list[int]) -> float:
    """Runs `run(i)` on one thread per client; requests/s from the per-client counts."""
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(done))]
    start = time.time()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return sum(done) / (time.time() - start)


def http_rate(url: str, seconds: float, connections: int) -> float:
    """Requests/s of `connections` keep-alive clients fetching `url` back to back for
    about `seconds` (each finishes the request it is in, and makes at least one)."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path + "?" + parts.query
    done = [0] * connections
    stop = time.time() + seconds

    def run(i):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)
        while True:
            conn.request("GET", path, headers={"Accept": "application/geo+json"})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200 or not body:
                raise SystemExit(f"{url}: HTTP {resp.status} {body[:200]!r}")
            done[i] += 1
            if time.time() >= stop:
                break
        conn.close()
    return _rate(run, done)


def choose_bbox(engine, want: int) -> tuple[tuple[float, ...], int]:
    """A square around the densest part of the city holding at least `want` buildings."""
    t = get_layer("buildings").table
    with engine.connect() as conn:
        cx, cy = conn.execute(sa.text(
            "SELECT avg(ST_X(c)), avg(ST_Y(c)) FROM (SELECT ST_Centroid(geom) AS c "
            "FROM construction.buildings TABLESAMPLE SYSTEM (1)) s")).one()
        half = 0.005
        while True:
            box = (cx - half, cy - half, cx + half, cy + half)
            n = conn.execute(sa.select(sa.func.count()).select_from(t).where(
                sa.func.ST_Intersects(t.c.geom, sa.func.ST_MakeEnvelope(*box, 4326)))).scalar()
            if n >= want or half > 1:
                return tuple(round(v, 5) for v in box), n
            half *= 1.4


def ceiling(settings: Settings, bbox, limit: int, seconds: int, connections: int) -> float:
    """Requests/s of the same SQL + FeatureCollection assembly, no HTTP."""
    layer = get_layer("buildings")
    q = parse_items_query(layer, [("bbox", ",".join(map(str, bbox))), ("limit", str(limit))])
    engine = make_engine(settings, pool_size=connections)
    stmt, _, values = page_statements(layer, q)
    compiled = stmt.compile(dialect=engine.dialect)
    engine.dispose()
    sql, params = str(compiled), compiled.construct_params(values)
    url = database_url(settings).replace("postgresql+psycopg://", "postgresql://")
    done = [0] * connections
    stop = time.time() + seconds

    def run(i):
        with psycopg.connect(url, autocommit=True) as conn:   # no BEGIN/ROLLBACK: the fastest way
            while True:
                rows = [r[0] for r in conn.execute(sql, params)]
                body = ('{"type": "FeatureCollection", "features": [' + ",".join(rows[:limit])
                        + '], "numberReturned": ' + str(min(len(rows), limit)) + "}").encode()
                assert body
                done[i] += 1
                if time.time() >= stop:
                    break
    return _rate(run, done)


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-name", default="gisdb_bench_ogc")
    ap.add_argument("--pygeoapi-venv", type=Path, default=Path("/tmp/pygeoapi-venv"))
    ap.add_argument("--seconds", type=int, default=8, help="length of one measurement")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=2)
    ap.add_argument("--workers", type=int, default=4,
                    help="worker processes of both servers (4, as `gisdb serve` runs)")
    args = ap.parse_args()

    settings = replace(Settings.from_env(), database_name=args.database_name)
    engine = make_engine(settings)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE construction.buildings")
        total = conn.execute(sa.text("SELECT count(*) FROM construction.buildings")).scalar()
        features = conn.execute(sa.text(
            "SELECT sum(n_live_tup) FROM pg_stat_user_tables "
            "WHERE schemaname IN ('land', 'construction', 'traffic') "
            "AND relname <> 'traffic_counts'")).scalar()
    boxes = {limit: choose_bbox(engine, int(limit * 1.2)) for limit in (1000, 10_000)}
    engine.dispose()
    print(f"database {args.database_name}: {features:,} features, {total:,} buildings")
    for limit, (bbox, in_box) in boxes.items():
        print(f"limit={limit}: bbox {bbox} holds {in_box:,} buildings")

    ours_port, pyg_port = free_port(), free_port()
    env = {**os.environ, "GISDB_DATABASE_NAME": args.database_name}
    tmp = Path(tempfile.mkdtemp(prefix="features-bench-"))
    servers = [start_ours(env, ours_port, args.workers)]
    have_pygeoapi = (args.pygeoapi_venv / "bin" / "pygeoapi").exists()
    if have_pygeoapi:
        servers.append(start_pygeoapi(args.pygeoapi_venv, settings, pyg_port, args.workers, tmp))
    try:
        wait_http(f"http://127.0.0.1:{ours_port}/conformance")
        if have_pygeoapi:
            wait_http(f"http://127.0.0.1:{pyg_port}/conformance")
        results = {}
        for limit, (bbox, in_box) in boxes.items():
            box = ",".join(map(str, bbox))
            ours_url = f"http://127.0.0.1:{ours_port}/collections/buildings/items?bbox={box}&limit={limit}"
            pyg_url = f"http://127.0.0.1:{pyg_port}/collections/buildings/items?bbox={box}&limit={limit}&f=json"
            for url in [ours_url] + ([pyg_url] if have_pygeoapi else []):
                http_rate(url, 1, args.connections)                # warm up
            runs: dict[str, list[float]] = {"ours": [], "pygeoapi": [], "sql": []}
            for _ in range(args.rounds):                           # interleaved rounds
                runs["ours"].append(http_rate(ours_url, args.seconds, args.connections))
                if have_pygeoapi:
                    runs["pygeoapi"].append(http_rate(pyg_url, args.seconds, args.connections))
                runs["sql"].append(ceiling(settings, bbox, limit, args.seconds, args.connections))
            results[limit] = {k: statistics.median(v) for k, v in runs.items() if v}
        print(f"\n{'limit':>6} {'system':<10} {'req/s':>9} {'features/s':>12}")
        for limit, med in results.items():
            n = min(limit, boxes[limit][1])
            for name, rps in med.items():
                print(f"{limit:>6} {name:<10} {rps:>9.1f} {rps * n:>12,.0f}")
            line = f"{limit:>6} ratios: ours/sql-ceiling = {med['ours'] / med['sql']:.2f} (target >= 0.8)"
            if "pygeoapi" in med:
                line += f", ours/pygeoapi = {med['ours'] / med['pygeoapi']:.1f}x (target >= 3x)"
            print(line)
    finally:
        for proc in servers:
            proc.terminate()
        for proc in servers:
            proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
