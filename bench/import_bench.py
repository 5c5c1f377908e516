"""Benchmark of `gisdb import` (run by hand, never in tests).

Writes a GeoPackage of N buildings inside Da Nang (bench/history_bench.py's file: 10-15 m
footprints, code, floors, use, address), then loads it into a scratch database, in the
same run, by turns (the order reversed every other round), medians of the repeats:
  - ours: `gisdb import buildings` (`import_layer`, upsert) into the empty layer,
    validation included (staging, SQL checks, natural key, the layer's indexes, checks
    and history triggers), in a child process: its time and peak RSS;
  - `geopandas.read_file` + `GeoDataFrame.to_postgis` into a new table (child process,
    time and peak RSS);
  - the layer's write floor: the same rows (already in the database: no reading,
    staging or validation) inserted into a table shaped like the layer (same CHECKs,
    generated EPSG:3857 column, identity), then its indexes and unique constraint built,
    in one transaction like the import: the floor under any import into this layer;
  - `ogr2ogr -f PostgreSQL` (Debian's gdal-bin) into a new bare table;
  - once: `ogr2ogr -append` into a copy of the layer's table (row-by-row index upkeep).
Prints the medians, rows/s and our ratios (targets: >= 1.5x to_postgis, >= 0.8x the
floor). Then imports a larger file (`--memory-rows`, default 1,000,000) in a child
process and prints its peak RSS (target < 1.5 GB), to show memory stays flat with size.
The machine may be shared: only ratios taken in the same run mean anything.

    .venv/bin/python bench/import_bench.py --rows 200000 --repeat 3
    .venv/bin/python bench/import_bench.py --rows 20000 --memory-rows 100000   # quick
    .venv/bin/python bench/import_bench.py --baseline /work/main --memory-rows 0  # vs main's code
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import make_url

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "bench"))

from history_bench import write_buildings  # noqa: E402

from gisdb.cluster import Cluster  # noqa: E402
from gisdb.database import create_database, drop_database  # noqa: E402
from gisdb.engine import make_engine  # noqa: E402
from gisdb.settings import Settings  # noqa: E402
from layers.schema import migrate  # noqa: E402

LAYER = "construction.buildings"
FLOOR_COLUMNS = "building_code, floors, use, address, geom"

# Run in a child process: prints {"s": seconds, "peak": VmHWM kB, "rows": n} (VmHWM: the
# peak RSS of this process image; ru_maxrss would carry over the parent's peak).
CHILD = """
import json, sys, time
def hwm():
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'))
from gisdb.settings import Settings
from gisdb.engine import make_engine
s = Settings.from_env(); e = make_engine(s, pool_size=2)
t = time.perf_counter()
if sys.argv[2] == 'ours':
    from gisdb.importing import ImportOptions
    from layers.importing import import_layer
    r = import_layer(e, s, 'buildings', sys.argv[1], ImportOptions(mode='upsert'))
    assert r.rejected == 0 and r.loaded == r.read, r.as_dict()
    rows = r.loaded
else:
    import geopandas
    frame = geopandas.read_file(sys.argv[1], engine='pyogrio')
    frame.to_postgis('bench_gpd', e, if_exists='replace', index=False)
    rows = len(frame)
print(json.dumps({'s': time.perf_counter() - t, 'rows': rows, 'peak': hwm()}))
"""


def pg_dsn(url: str) -> str:
    u = make_url(url)
    parts = [f"dbname={u.database}", f"user={u.username or os.environ.get('USER', 'postgres')}"]
    host = u.query.get("host") or u.host
    if host:
        parts.append(f"host={host}")
    if u.port:
        parts.append(f"port={u.port}")
    if u.password:
        parts.append(f"password={u.password}")
    return " ".join(parts)


def in_child(settings, path: Path, what: str, tree: Path = PROJECT) -> tuple[float, float]:
    """Run `what` (ours | to_postgis) on `path` in a child process: (seconds, peak RSS MB).
    `tree` is the checkout whose packages the child imports (`python -c` puts its working
    directory first on the path): another one is the baseline code on the same database."""
    env = dict(os.environ, GISDB_DATABASE_URL=settings.database_url, GISDB_DATA_DIR=str(settings.data_dir),
               GISDB_IMPORT_TIMEOUT_MS="3600000", GISDB_STATEMENT_TIMEOUT_MS="3600000")
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), what], cwd=tree, env=env,
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{what} failed: {out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["s"], result["peak"] / 1024


def time_ogr2ogr(dsn: str, path: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["ogr2ogr", "-f", "PostgreSQL", "PG:" + dsn, str(path), "-nln", "bench_ogr",
                    "-overwrite", "-lco", "GEOMETRY_NAME=geom"], check=True, capture_output=True)
    return time.perf_counter() - start


def time_ogr2ogr_layer(engine, dsn: str, path: Path) -> float:
    """ogr2ogr appending into a copy of the buildings table (same columns, generated
    Web-Mercator column, CHECK constraints and indexes)."""
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_like"))
        conn.execute(sa.text("CREATE TABLE bench_like (LIKE " + LAYER + " INCLUDING ALL)"))
    start = time.perf_counter()
    subprocess.run(["ogr2ogr", "-f", "PostgreSQL", "PG:" + dsn, str(path), "-nln", "bench_like", "-append",
                    "-nlt", "PROMOTE_TO_MULTI"], check=True, capture_output=True)
    return time.perf_counter() - start


def _run_ddl(conn, statement) -> None:
    with conn.connection.driver_connection.cursor() as cur:
        cur.execute(statement)


def keep_rows(engine) -> None:
    """Keep the rows an import loaded (`bench_floor_src`), for the floor runs."""
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_floor_src"))
        conn.execute(sa.text("CREATE TABLE bench_floor_src AS SELECT " + FLOOR_COLUMNS + " FROM " + LAYER))


def time_layer_floor(engine) -> float:
    """The layer's own write alone, a lower bound of any import into it: the rows an
    import loaded inserted into a table shaped like the layer (same CHECKs, generated
    EPSG:3857 column, identity), then its indexes and unique constraint built, in one
    transaction like the import."""
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_floor"))
        conn.execute(sa.text("CREATE TABLE bench_floor (LIKE " + LAYER + " INCLUDING ALL)"))
        indexes = conn.execute(sa.text(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid), k.conname, pg_get_constraintdef(k.oid) "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.contype = 'u' "
            "WHERE i.indrelid = 'bench_floor'::regclass AND NOT i.indisprimary")).all()
        for name, _, constraint, _ in indexes:
            _run_ddl(conn, sql.SQL("ALTER TABLE bench_floor DROP CONSTRAINT {}").format(sql.Identifier(constraint))
                     if constraint else sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        conn.execute(sa.text("CHECKPOINT"))
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO bench_floor (" + FLOOR_COLUMNS + ") SELECT * FROM bench_floor_src"))
        for name, definition, constraint, condef in indexes:    # the catalog's own definitions
            _run_ddl(conn, sql.SQL("ALTER TABLE bench_floor ADD CONSTRAINT {} ").format(sql.Identifier(constraint))
                     + sql.SQL(condef) if constraint else sql.SQL(definition))
    elapsed = time.perf_counter() - start
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE bench_floor"))
    return elapsed


def reset(engine) -> None:
    """Empty the layer (its history, and the violations the rules found in it: every run
    is a first load) and drop the peers' tables, then checkpoint."""
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE " + LAYER + " CASCADE"))
        conn.execute(sa.text("TRUNCATE history.construction__buildings, history.changes"))
        conn.execute(sa.text("TRUNCATE planning.violations, planning.rule_state"))
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_ogr, bench_gpd, bench_like"))
    with engine.connect() as conn:
        conn.execute(sa.text("CHECKPOINT"))


def run_round(engine, settings, path: Path, dsn: str, order: list[str], times: dict, peaks: dict,
              baseline: Path | None = None) -> None:
    """One run of each contender, in `order`."""
    for label in order:
        if label == "layer_floor":
            times[label].append(time_layer_floor(engine))
            continue
        reset(engine)
        if label == "baseline":
            seconds, peak = in_child(settings, path, "ours", baseline)
            times[label].append(seconds)
            peaks[label].append(peak)
        elif label in ("ours", "to_postgis"):
            seconds, peak = in_child(settings, path, label)
            times[label].append(seconds)
            peaks[label].append(peak)
        elif label == "ogr2ogr":
            times[label].append(time_ogr2ogr(dsn, path))
        else:
            times[label].append(time_ogr2ogr_layer(engine, dsn, path))


def print_results(rows: int, repeat: int, times: dict, peaks: dict) -> None:
    """Medians, rows/s, peak RSS and our ratios."""
    medians = {k: statistics.median(v) for k, v in times.items() if v}
    print(f"import of {rows:,} buildings from a GeoPackage, median of {repeat}, by turns "
          f"(load average {os.getloadavg()[0]:.1f})")
    for label, seconds in medians.items():
        peak = f"  peak RSS {statistics.median(peaks[label]):,.0f} MB" if peaks.get(label) else ""
        runs = " ".join(f"{t:.1f}" for t in times[label])
        print(f"  {label:<13} {seconds:8.2f} s  {rows / seconds:10,.0f} rows/s{peak}   (runs: {runs})")
    ours = medians["ours"]
    if "to_postgis" in medians:
        print(f"  ours / to_postgis (speed): {medians['to_postgis'] / ours:.2f}x  (target >= 1.5x)")
    print(f"  ours / the layer's write floor (speed): {medians['layer_floor'] / ours:.2f}x  (target >= 0.8x)")
    print(f"  ours / ogr2ogr into a bare table (speed): {medians['ogr2ogr'] / ours:.2f}x")
    if "baseline" in medians:
        print(f"  ours / the baseline checkout's import (speed): {medians['baseline'] / ours:.2f}x")
    if "ogr2ogr_layer" in medians:
        print(f"  ours / ogr2ogr appending into a table shaped like the layer (one run): "
              f"{medians['ogr2ogr_layer'] / ours:.2f}x")


def main() -> None:
    """Run the comparison, then the memory runs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-rows", type=int, default=1_000_000, help="0 skips the memory run")
    parser.add_argument("--skip-geopandas", action="store_true")
    parser.add_argument("--baseline", type=Path, help="another checkout (e.g. /work/main) whose import "
                        "runs by turns as the contender 'baseline'")
    parser.add_argument("--skip-like-for-like", action="store_true",
                        help="skip ogr2ogr appending into a table shaped like the layer")
    args = parser.parse_args()

    base = Settings.from_env()
    if base.embedded:
        Cluster(base).start()
    name = f"gisdb_bench_import_{uuid.uuid4().hex[:6]}"
    url = create_database(base, name)
    tmp = Path(tempfile.mkdtemp(prefix="gisdb-import-bench-"))
    settings = replace(base, database_url=url, data_dir=tmp / "data",
                       statement_timeout_ms=3_600_000, import_statement_timeout_ms=3_600_000)
    engine = make_engine(settings, pool_size=2)
    try:
        migrate(engine)
        path = write_buildings(tmp / "buildings.gpkg", args.rows)
        dsn = pg_dsn(url)
        in_child(settings, path, "ours")        # the rows the floor inserts
        keep_rows(engine)
        labels = ["ours", "to_postgis", "layer_floor", "ogr2ogr"]
        if args.skip_geopandas:
            labels.remove("to_postgis")
        if args.baseline:
            labels.insert(1, "baseline")
        times = {k: [] for k in labels + ["ogr2ogr_layer"]}
        peaks = {k: [] for k in labels}
        for attempt in range(args.repeat):
            order = labels if attempt % 2 == 0 else labels[::-1]
            if attempt == 0 and not args.skip_like_for_like:
                order = order + ["ogr2ogr_layer"]       # slow (row-by-row index upkeep): once
            run_round(engine, settings, path, dsn, order, times, peaks, args.baseline)
            print(f"round {attempt + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in times.items() if v),
                  flush=True)
        print_results(args.rows, args.repeat, times, peaks)
        if args.memory_rows:
            big = write_buildings(tmp / "big.gpkg", args.memory_rows, seed=2)
            for size, file in ((args.rows, path), (args.memory_rows, big)):
                reset(engine)
                seconds, peak_mb = in_child(settings, file, "ours")
                print(f"memory: imported {size:,} features in {seconds:.1f} s ({size / seconds:,.0f} rows/s), "
                      f"peak RSS {peak_mb:,.0f} MB (target < 1,536 MB)")
    finally:
        engine.dispose()
        drop_database(base, name)
        for item in sorted(tmp.rglob("*"), reverse=True):
            item.unlink() if item.is_file() else item.rmdir()
        tmp.rmdir()


if __name__ == "__main__":
    main()
