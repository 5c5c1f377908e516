"""Benchmark of the history triggers (run by hand, never in tests).

    .venv/bin/python bench/history_bench.py import --rows 200000 --repeat 3
    .venv/bin/python bench/history_bench.py sample --scale 5 --repeat 2
    GISDB_DATABASE_NAME=hist_bench35 .venv/bin/gisdb sample --scale 35
    GISDB_DATABASE_NAME=hist_bench35 .venv/bin/python bench/history_bench.py diff --changes 200000

- `import`: a GeoPackage of N buildings imported (`gisdb import buildings`, upsert) into an
  empty layer, then the same file with every feature changed imported again (N updates),
  with the history triggers on and off (ALTER TABLE ... DISABLE TRIGGER, in a scratch
  database only), by turns; prints the medians and the overhead (target < 20%).
- `sample`: the sample city loaded at `--scale` into a scratch database, triggers on and
  off, by turns.
- `diff`: in the database configured (a sample city at scale 35, about a million
  features), N buildings changed in one transaction attributed as an import (what a
  200,000-feature re-import writes, committed: use a bench database), then
  `gisdb diff buildings --from T1 --to T2` timed (target < 60 s).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pyogrio
import shapely
import sqlalchemy as sa

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from gisdb.database import create_database, drop_database  # noqa: E402
from gisdb.engine import make_engine  # noqa: E402
from gisdb.history.tables import history_table  # noqa: E402
from gisdb.settings import Settings  # noqa: E402
from layers.registry import get_layer, history_tracked  # noqa: E402
from layers.schema import migrate  # noqa: E402

USES = np.array(["residential", "commercial", "office", "mixed"], dtype=object)


def write_buildings(path: Path, n: int, floors_offset: int = 0, seed: int = 1) -> Path:
    """N building footprints (~10-15 m squares) on a grid over Da Nang."""
    rng = np.random.default_rng(seed)
    cols = int(np.ceil(np.sqrt(n)))
    step = min(0.0003, 0.5 / cols)
    i = np.arange(n)
    x0, y0 = 107.95 + (i % cols) * step, 15.9 + (i // cols) * step
    size = step * rng.uniform(0.4, 0.7, n)
    geoms = shapely.box(x0, y0, x0 + size, y0 + size)
    fields = {"building_code": np.array([f"B{k:07d}" for k in i], dtype=object),
              "floors": ((i % 12) + 1 + floors_offset).astype(np.int32),
              "use": USES[i % len(USES)],
              "address": np.array([f"{k % 300 + 1} đường Nguyễn Văn Linh" for k in i], dtype=object)}
    pyogrio.raw.write(path, shapely.to_wkb(geoms), driver="GPKG", layer="buildings", geometry_type="Polygon",
                      crs="EPSG:4326", field_data=list(fields.values()), fields=list(fields))
    return path


def _qualified(conn, table: sa.Table) -> str:
    """schema.table of a registry table, quoted."""
    prep = conn.dialect.identifier_preparer
    return prep.quote_schema(table.schema) + "." + prep.quote_identifier(table.name)


def set_history(engine, on: bool, tables: list[sa.Table]) -> None:
    """Enable or disable the history triggers of `tables` (scratch databases only)."""
    with engine.begin() as conn:
        for table in tables:
            for trigger in ("history_insert", "history_update", "history_delete", "history_truncate"):
                conn.exec_driver_sql("ALTER TABLE " + _qualified(conn, table)
                                     + (" ENABLE" if on else " DISABLE") + " TRIGGER " + trigger)


def empty(engine, tables: list[sa.Table]) -> None:
    """Empty the tables and their version tables, then checkpoint."""
    with engine.begin() as conn:
        for table in tables:
            conn.exec_driver_sql("TRUNCATE " + _qualified(conn, table) + " CASCADE")
            conn.exec_driver_sql("TRUNCATE " + _qualified(conn, history_table(table)))
        conn.exec_driver_sql("TRUNCATE history.changes")
    with engine.connect() as conn:
        conn.exec_driver_sql("CHECKPOINT")


def _scratch(base: Settings):
    name = f"hist_bench_{uuid.uuid4().hex[:6]}"
    url = create_database(base, name)
    admin = make_engine(Settings.from_env(env={"GISDB_DATABASE_URL": url}), pool_size=1)
    with admin.begin() as conn:       # the trigger functions' own time, in pg_stat_user_functions
        conn.exec_driver_sql("ALTER DATABASE " + conn.dialect.identifier_preparer.quote_identifier(name)
                             + " SET track_functions = 'pl'")
    admin.dispose()
    settings = Settings.from_env(env={"GISDB_DATABASE_URL": url, "GISDB_DATA_DIR": str(base.data_dir)})
    engine = make_engine(settings, timeout_ms=0, pool_size=1)
    migrate(engine)
    return name, settings, engine


def started_base() -> Settings:
    """The environment's settings, with the embedded cluster started when it is used."""
    base = started_base()
    return base


def trigger_seconds(engine, table: sa.Table) -> float:
    """Time spent in `table`'s history trigger function so far (pg_stat_user_functions;
    the pool is emptied first so that every session's counts are flushed)."""
    engine.dispose()
    time.sleep(1.5)
    with engine.connect() as conn:
        ms = conn.execute(sa.text("SELECT coalesce(sum(total_time), 0) FROM pg_stat_user_functions "
                                  "WHERE schemaname = 'history' AND funcname = :f"),
                          {"f": f"track__{table.schema}__{table.name}"}).scalar()
    return ms / 1000


def bench_import(base: Settings, rows: int, repeat: int) -> None:
    """Fresh import and a full re-import with changes, history on and off by turns."""
    from gisdb.importing import ImportOptions
    from layers.importing import import_layer
    name, settings, engine = _scratch(base)
    table = get_layer("buildings").table
    times: dict[tuple[bool, str], list[float]] = {}
    share: dict[str, list[float]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            first = write_buildings(Path(tmp) / "b.gpkg", rows)
            second = write_buildings(Path(tmp) / "b2.gpkg", rows, floors_offset=1)
            for run in range(repeat):
                for on in ((True, False) if run % 2 == 0 else (False, True)):
                    empty(engine, [table])
                    set_history(engine, on, [table])
                    for label, path in (("insert", first), ("update", second)):
                        spent = trigger_seconds(engine, table)
                        start = time.perf_counter()
                        report = import_layer(engine, settings, "buildings", path, ImportOptions(mode="upsert"))
                        elapsed = time.perf_counter() - start
                        times.setdefault((on, label), []).append(elapsed)
                        assert report.rejected == 0, report.as_dict()
                        if on:    # the same run: trigger time against the rest of the import
                            inside = trigger_seconds(engine, table) - spent
                            share.setdefault(label, []).append(inside / (elapsed - inside))
                    print(f"run {run + 1} history {'on ' if on else 'off'}: "
                          f"{times[(on, 'insert')][-1]:.1f} s insert, {times[(on, 'update')][-1]:.1f} s update")
        for label in ("insert", "update"):
            on, off = statistics.median(times[(True, label)]), statistics.median(times[(False, label)])
            print(f"{rows:,} buildings, {label}: history on {on:.1f} s, off {off:.1f} s, "
                  f"overhead {100 * (on / off - 1):+.0f}%; in the same runs the trigger took "
                  f"{100 * statistics.median(share[label]):.0f}% of the rest of the import")
    finally:
        engine.dispose()
        drop_database(base, name)


def bench_sample(base: Settings, scale: float, repeat: int) -> None:
    """The sample city's load, history on and off by turns (a fresh database each)."""
    from layers.sample import load_sample_city
    times: dict[bool, list[float]] = {True: [], False: []}
    for run in range(repeat):
        for on in ((True, False) if run % 2 == 0 else (False, True)):
            name, _, engine = _scratch(base)
            try:
                set_history(engine, on, [t for _, t in history_tracked()])
                start = time.perf_counter()
                load_sample_city(engine, scale=scale, seed=1)
                times[on].append(time.perf_counter() - start)
                print(f"run {run + 1} history {'on ' if on else 'off'}: {times[on][-1]:.1f} s")
            finally:
                engine.dispose()
                drop_database(base, name)
    on, off = statistics.median(times[True]), statistics.median(times[False])
    print(f"sample --scale {scale}: history on {on:.1f} s, off {off:.1f} s, overhead {100 * (on / off - 1):+.0f}%")


def bench_diff(base: Settings, changes: int) -> None:
    """Change N buildings in one attributed transaction (committed: use a bench
    database), then time the diff over the instants around it."""
    from gisdb.history.diff import diff_table
    table = get_layer("buildings").table
    engine = make_engine(base, timeout_ms=0, pool_size=1)
    clock = sa.text("SELECT clock_timestamp()")
    try:
        with engine.connect() as conn:
            t1 = conn.execute(clock).scalar()
        start = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT set_config('gisdb.source', 'import', true), "
                                 "set_config('gisdb.import_id', '999999', true)"))
            written = conn.execute(sa.text(
                "UPDATE construction.buildings SET floors = coalesce(floors, 0) + 1 "
                "WHERE id IN (SELECT id FROM construction.buildings ORDER BY id LIMIT :n)"), {"n": changes}).rowcount
        print(f"{written:,} buildings changed in {time.perf_counter() - start:.1f} s (history on)")
        with engine.connect() as conn:
            t2 = conn.execute(clock).scalar()
            total = conn.execute(sa.text("SELECT count(*) FROM construction.buildings")).scalar()
            versions = conn.execute(sa.text("SELECT count(*) FROM history.construction__buildings")).scalar()
            start = time.perf_counter()
            rows = diff_table(conn, table, "buildings", t1, t2)
            elapsed = time.perf_counter() - start
        print(f"diff of {total:,} buildings ({versions:,} versions): {len(rows):,} changed in {elapsed:.1f} s "
              f"(target < 60 s)")
    finally:
        engine.dispose()


def main() -> None:
    """Run the benchmark named on the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("import", "sample", "diff"))
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--scale", type=float, default=5)
    parser.add_argument("--changes", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    base = started_base()
    if args.what == "import":
        bench_import(base, args.rows, args.repeat)
    elif args.what == "sample":
        bench_sample(base, args.scale, args.repeat)
    else:
        bench_diff(base, args.changes)


if __name__ == "__main__":
    main()
