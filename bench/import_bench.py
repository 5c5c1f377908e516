"""Benchmark of `gisdb import` (run by hand, never in tests).

Writes a GeoPackage of N parcel-like polygons inside Da Nang, then loads it into a
scratch database, in the same run and by turns:
  - ours: `run_import` into the `parcels` layer, validation included (staging, SQL
    checks, natural key, upsert apply with the layer's indexes, checks and triggers);
  - `ogr2ogr -f PostgreSQL` (Debian's gdal-bin) into a new table of the same database,
    and appending into a copy of the layer's table (same checks, generated column and
    indexes: the like-for-like baseline);
  - `geopandas.read_file` + `GeoDataFrame.to_postgis` into a new table;
  - the layer's own write alone (the rows just imported, inserted into a table shaped
    like the layer, then its indexes built): the floor under any import into this layer,
    whatever reads and validates the file.
Prints the median time and rows/s of each over the repeats, and our ratios (targets:
>= 1.0x ogr2ogr, >= 3x to_postgis). Then imports a larger file (`--memory-rows`,
default 1,000,000) in a child process and prints its peak memory (max RSS; target
< 1.5 GB), to show memory stays flat with size.

    .venv/bin/python bench/import_bench.py --rows 200000 --repeat 3
    .venv/bin/python bench/import_bench.py --rows 20000 --memory-rows 100000   # quick
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

import numpy as np
import pyogrio
import shapely
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import make_url

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from gisdb.cluster import Cluster  # noqa: E402
from gisdb.database import create_database, drop_database  # noqa: E402
from gisdb.engine import make_engine  # noqa: E402
from gisdb.settings import Settings  # noqa: E402
from layers.schema import migrate  # noqa: E402

LAND_USES = np.array(["ODT", "TMD", "CLN", "DGT", "SKC", "DGD", "LUC", "NTS"], dtype=object)


def write_parcels(path: Path, n: int, seed: int = 1, chunk: int = 250_000) -> Path:
    """N polygons (5-7 vertices, ~10-20 m) on a grid over Da Nang, with parcel attributes."""
    rng = np.random.default_rng(seed)
    cols = int(np.ceil(np.sqrt(n)))
    step = min(0.0004, 0.6 / cols)
    for start in range(0, n, chunk):
        i = np.arange(start, min(n, start + chunk))
        x0 = 107.9 + (i % cols) * step
        y0 = 15.85 + (i // cols) * step
        w = step * rng.uniform(0.5, 0.9, len(i))
        h = step * rng.uniform(0.5, 0.9, len(i))
        jitter = step * rng.uniform(0.05, 0.2, len(i))
        rings = np.stack([np.column_stack([x0, y0]), np.column_stack([x0 + w, y0]),
                          np.column_stack([x0 + w + jitter, y0 + h / 2]), np.column_stack([x0 + w, y0 + h]),
                          np.column_stack([x0, y0 + h]), np.column_stack([x0, y0])], axis=1)
        geoms = shapely.polygons(rings)
        fields = {
            "ward_code": np.array([f"20{k % 90:03d}" for k in i // 5000], dtype=object),
            "sheet_no": (i // 500 % 1000 + 1).astype(np.int32),
            "parcel_no": (i % 500 + 1).astype(np.int32),
            "area_m2": np.round(rng.uniform(40, 900, len(i)), 1),
            "land_use": LAND_USES[i % len(LAND_USES)],
            "address": np.array([f"{k % 300 + 1} đường Nguyễn Văn Linh" for k in i], dtype=object),
        }
        pyogrio.raw.write(path, shapely.to_wkb(geoms), driver="GPKG", layer="parcels",
                          geometry_type="Polygon", crs="EPSG:4326", field_data=list(fields.values()),
                          fields=list(fields), append=start > 0)
    return path


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


def time_ours(engine, settings, path: Path) -> float:
    from gisdb.importing import ImportOptions
    from layers.importing import import_layer
    start = time.perf_counter()
    report = import_layer(engine, settings, "parcels", path, ImportOptions(mode="upsert"))
    elapsed = time.perf_counter() - start
    assert report.rejected == 0 and report.loaded == report.read, report.as_dict()
    return elapsed


def time_ogr2ogr(dsn: str, path: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["ogr2ogr", "-f", "PostgreSQL", "PG:" + dsn, str(path), "-nln", "bench_ogr",
                    "-overwrite", "-lco", "GEOMETRY_NAME=geom"], check=True, capture_output=True)
    return time.perf_counter() - start


def time_ogr2ogr_layer(engine, dsn: str, path: Path) -> float:
    """ogr2ogr appending into a copy of the parcels table (same columns, generated
    Web-Mercator column, CHECK constraints and indexes): the like-for-like baseline."""
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_like"))
        conn.execute(sa.text("CREATE TABLE bench_like (LIKE land.parcels INCLUDING ALL)"))
    start = time.perf_counter()
    subprocess.run(["ogr2ogr", "-f", "PostgreSQL", "PG:" + dsn, str(path), "-nln", "bench_like", "-append",
                    "-nlt", "PROMOTE_TO_MULTI"], check=True, capture_output=True)
    return time.perf_counter() - start


def _run_ddl(conn, statement) -> None:
    with conn.connection.driver_connection.cursor() as cur:
        cur.execute(statement)


def time_layer_floor(engine) -> float:
    """The layer's own write alone, a lower bound of any import into it: the rows just
    imported (already in the database: no reading, staging or validation) inserted into
    a table shaped like the layer (same CHECKs, generated EPSG:3857 column, identity),
    then its indexes and unique constraint built, in one transaction like the import."""
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_floor, bench_floor_src"))
        conn.execute(sa.text("CREATE TABLE bench_floor_src AS SELECT ward_code, sheet_no, parcel_no, area_m2, "
                             "land_use, address, geom FROM land.parcels"))
        conn.execute(sa.text("CREATE TABLE bench_floor (LIKE land.parcels INCLUDING ALL)"))
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
        conn.execute(sa.text("INSERT INTO bench_floor (ward_code, sheet_no, parcel_no, area_m2, land_use, "
                             "address, geom) SELECT * FROM bench_floor_src"))
        for name, definition, constraint, condef in indexes:    # the catalog's own definitions
            _run_ddl(conn, sql.SQL("ALTER TABLE bench_floor ADD CONSTRAINT {} ").format(sql.Identifier(constraint))
                     + sql.SQL(condef) if constraint else sql.SQL(definition))
    elapsed = time.perf_counter() - start
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE bench_floor, bench_floor_src"))
    return elapsed


def time_geopandas(engine, path: Path) -> float:
    import geopandas
    start = time.perf_counter()
    frame = geopandas.read_file(path, engine="pyogrio")
    frame.to_postgis("bench_gpd", engine, if_exists="replace", index=False)
    return time.perf_counter() - start


def reset(engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE land.parcels CASCADE"))
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_ogr, bench_gpd, bench_like"))
        conn.execute(sa.text("CHECKPOINT"))


def peak_memory(settings, path: Path) -> tuple[float, float, int]:
    """Import `path` in a child process; returns (seconds, max RSS in MB, rows)."""
    # VmHWM (peak RSS of this process image) rather than ru_maxrss, which on Linux carries
    # over the parent's peak through fork+exec.
    code = ("import json, sys, time; from gisdb.engine import make_engine; from gisdb.importing "
            "import ImportOptions; from layers.importing import import_layer; from gisdb.settings import "
            "Settings\n"
            "def hwm():\n"
            "    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
            "s = Settings.from_env(); e = make_engine(s, pool_size=2); base = hwm(); t = time.perf_counter()\n"
            "r = import_layer(e, s, 'parcels', sys.argv[1], ImportOptions())\n"
            "print(json.dumps({'s': time.perf_counter() - t, 'rows': r.loaded, 'base': base, 'peak': hwm()}))")
    env = dict(os.environ, GISDB_DATABASE_URL=settings.database_url, GISDB_DATA_DIR=str(settings.data_dir))
    out = subprocess.run([sys.executable, "-c", code, str(path)], cwd=PROJECT, env=env, check=True,
                         capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["s"], result["peak"] / 1024, result["rows"], result["base"] / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-rows", type=int, default=1_000_000, help="0 skips the memory run")
    parser.add_argument("--skip-geopandas", action="store_true")
    parser.add_argument("--only-memory", action="store_true", help="only the memory runs")
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
        path = write_parcels(tmp / "parcels.gpkg", args.rows)
        dsn = pg_dsn(url)
        times = {"ours": [], "ogr2ogr": [], "ogr2ogr_layer": [], "to_postgis": [], "layer_floor": []}
        order = ["ours", "layer_floor", "ogr2ogr", "ogr2ogr_layer", "to_postgis"]
        for attempt in range(0 if args.only_memory else args.repeat):
            for label in order:
                if label == "to_postgis" and args.skip_geopandas:
                    continue
                if label == "ogr2ogr_layer" and (attempt > 0 or args.skip_like_for_like):
                    continue        # slow (row-by-row index upkeep): measured once
                if label == "layer_floor":
                    times[label].append(time_layer_floor(engine))     # needs the layer filled by "ours"
                    continue
                reset(engine)
                run = {"ours": lambda: time_ours(engine, settings, path),
                       "ogr2ogr": lambda: time_ogr2ogr(dsn, path),
                       "ogr2ogr_layer": lambda: time_ogr2ogr_layer(engine, dsn, path),
                       "to_postgis": lambda: time_geopandas(engine, path)}[label]
                times[label].append(run())
        medians = {k: statistics.median(v) for k, v in times.items() if v}
        if medians:
            print(f"import of {args.rows:,} polygons from a GeoPackage, median of {args.repeat} "
                  f"(load average {os.getloadavg()[0]:.1f})")
            for label, seconds in medians.items():
                print(f"  {label:<13} {seconds:8.2f} s  {args.rows / seconds:10,.0f} rows/s")
            print(f"  ratio ours / ogr2ogr    (rows/s): {medians['ogr2ogr'] / medians['ours']:.2f}x  "
                  "(target >= 1.0x)")
            if "ogr2ogr_layer" in medians:
                print(f"  ratio ours / ogr2ogr into a table shaped like the layer (one run): "
                      f"{medians['ogr2ogr_layer'] / medians['ours']:.2f}x")
            if "layer_floor" in medians:
                print(f"  the layer's own write alone (insert with its checks and generated column, then its "
                      f"indexes; no reading or validation): {medians['layer_floor']:.2f} s = "
                      f"{medians['ogr2ogr'] / medians['layer_floor']:.2f}x ogr2ogr, "
                      f"{medians['to_postgis'] / medians['layer_floor']:.2f}x to_postgis"
                      if "to_postgis" in medians else
                      f"  the layer's own write alone: {medians['layer_floor']:.2f} s = "
                      f"{medians['ogr2ogr'] / medians['layer_floor']:.2f}x ogr2ogr")
            if "to_postgis" in medians:
                print(f"  ratio ours / to_postgis (rows/s): {medians['to_postgis'] / medians['ours']:.2f}x  "
                      "(target >= 3x)")
        if args.memory_rows:
            big = write_parcels(tmp / "big.gpkg", args.memory_rows, seed=2)
            reset(engine)
            for size, file in ((args.rows, path), (args.memory_rows, big)):
                reset(engine)
                seconds, peak_mb, rows, base_mb = peak_memory(settings, file)
                print(f"memory: imported {rows:,} features in {seconds:.1f} s ({rows / seconds:,.0f} rows/s), "
                      f"peak RSS {peak_mb:,.0f} MB (after imports, before the run: {base_mb:,.0f} MB; "
                      "target < 1,536 MB)")
    finally:
        engine.dispose()
        drop_database(base, name)
        for item in sorted(tmp.rglob("*"), reverse=True):
            item.unlink() if item.is_file() else item.rmdir()
        tmp.rmdir()


if __name__ == "__main__":
    main()
