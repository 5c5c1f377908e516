"""Benchmark of `gisdb export` (run by hand, never in tests).

Fills a scratch database with N synthetic parcels (built in SQL), then exports them
to GeoPackage and FlatGeobuf with `gisdb export` and with Debian's `ogr2ogr` reading
the same table, in the same run. Prints the median time over the repeats, rows/s,
peak memory (max RSS of the process, from /usr/bin/time) and our speed relative to
ogr2ogr (>1 means faster), for the whole command and for the export engine alone
("in-proc": no Python start-up; its memory column is the growth of this process);
a second, larger N shows whether memory stays flat with size.

    .venv/bin/python bench/export_speed.py --rows 50000 --rows 200000 --repeat 3
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from gisdb.cluster import Cluster
from gisdb.database import create_database, drop_database
from gisdb.engine import make_engine
from gisdb.settings import Settings
from layers.exporting import export_layer
from layers.schema import migrate

ROOT = Path(__file__).resolve().parents[1]
OGR_SQL = ("SELECT id, ward_code, sheet_no, parcel_no, area_m2, land_use, owner_type, address, "
           "certificate_no, updated_at, geom FROM land.parcels ORDER BY id")
FILL = sa.text("""
INSERT INTO land.parcels (ward_code, sheet_no, parcel_no, area_m2, land_use, address,
                          certificate_no, geom)
SELECT '2019' || (i % 7), i / 1000 + 1, i, 50 + (i % 400), (ARRAY['ODT','TMD','DGT','CLN'])[1 + i % 4],
       i || ' Đường Bạch Đằng, Hải Châu', 'CS' || i,
       ST_Multi(ST_Expand(ST_SetSRID(ST_MakePoint(108.10 + random() * 0.2,
                                                  15.95 + random() * 0.2), 4326), 0.0001))
FROM generate_series(CAST(:start AS integer), CAST(:stop AS integer)) AS i
""")


def fill(engine: sa.Engine, rows: int) -> None:
    with engine.begin() as conn:
        have = conn.execute(sa.text("SELECT count(*) FROM land.parcels")).scalar_one()
        if have < rows:
            conn.execute(FILL, {"start": have + 1, "stop": rows})
        conn.execute(sa.text("ANALYZE land.parcels"))


def timed(cmd: list[str], env: dict) -> tuple[float, int]:
    """(seconds, peak RSS in MB) of one command."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        started = time.perf_counter()
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name, *cmd], env=env,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        return seconds, int(report.read().strip().splitlines()[-1]) // 1024


def in_process(engine: sa.Engine, out: Path) -> tuple[float, int]:
    """(seconds, RSS growth in MB) of the export engine alone, without the start-up of
    the command (Python imports), which dominates small exports."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    export_layer(engine, "parcels", out)
    seconds = time.perf_counter() - started
    return seconds, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024


def pg_conninfo(url: str) -> str:
    u = make_url(url)
    host = u.query.get("host") or u.host or "localhost"
    parts = [f"dbname={u.database}", f"host={host}", f"user={u.username}"]
    if u.port:
        parts.append(f"port={u.port}")
    return "PG:" + " ".join(parts)


def command(tool: str, url: str, out: Path, ext: str) -> list[str]:
    if tool == "gisdb":
        return [str(ROOT / ".venv" / "bin" / "gisdb"), "export", "parcels", str(out)]
    return ["ogr2ogr", "-f", {"gpkg": "GPKG", "fgb": "FlatGeobuf"}[ext], str(out),
            pg_conninfo(url), "-sql", OGR_SQL, "-nln", "parcels"]


def compare(engine, url: str, env: dict, rows: int, ext: str, repeat: int, tmp: Path) -> None:
    """One line per tool for `rows` parcels to format `ext`; ratios on the ogr2ogr line."""
    results = {}
    for tool in ("in-proc", "gisdb", "ogr2ogr"):
        runs = []
        for i in range(repeat):
            out = tmp / f"{tool}-{rows}-{i}.{ext}"
            runs.append(in_process(engine, out) if tool == "in-proc"
                        else timed(command(tool, url, out, ext), env))
        seconds = statistics.median(r[0] for r in runs)
        results[tool] = seconds
        ratio = "" if tool != "ogr2ogr" else (f"cli {seconds / results['gisdb']:.2f}x, "
                                              f"in-proc {seconds / results['in-proc']:.2f}x")
        print(f"{rows:>8} {ext:<6} {tool:<8} {seconds:>9.2f} {rows / seconds:>9.0f} "
              f"{max(r[1] for r in runs):>8}  {ratio}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, action="append")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", default="gpkg,fgb")
    args = parser.parse_args()
    sizes = sorted(args.rows or [50_000, 200_000])
    __import__("pyogrio")        # loaded up front: in-process times exclude imports
    base = Settings.from_env()
    if base.embedded:
        Cluster(base).start()
    name = f"gisdb_bench_export_{os.getpid()}"
    url = create_database(base, name)
    settings = replace(base, database_url=url)
    engine = make_engine(settings, timeout_ms=0)
    env = dict(os.environ, GISDB_DATABASE_URL=url, PGPASSWORD=make_url(url).password or "")
    try:
        migrate(engine)
        print(f"{'rows':>8} {'format':<6} {'tool':<8} {'median s':>9} {'rows/s':>9} "
              f"{'peak MB':>8}  ogr2ogr time / ours")
        with tempfile.TemporaryDirectory() as tmp:
            for rows in sizes:
                fill(engine, rows)
                for ext in args.formats.split(","):
                    compare(engine, url, env, rows, ext, args.repeat, Path(tmp))
    finally:
        engine.dispose()
        drop_database(base, name)


if __name__ == "__main__":
    sys.exit(main())
