"""Where the history's share of an import goes (run by hand, never in tests).

    .venv/bin/python bench/history_profile.py --rows 200000 --repeat 3

In one scratch database, imports N buildings into the empty layer (first load) and then
a copy with every feature changed (full re-import), once per variant, by turns (the
order rotated each round), and prints each variant's medians against history off:
  - off: the history triggers disabled;
  - on: the history as installed;
  - each piece removed in turn (an index of the version table or of the change log,
    the commit-order trigger), to show what that piece costs.
Variants drop and recreate indexes in the scratch database only. The machine may be
shared: only ratios of the same run mean anything (`uptime` is printed beside them).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "bench"))

from history_bench import _scratch, empty, set_history, started_base, write_buildings  # noqa: E402

from gisdb.cluster import Cluster  # noqa: E402
from gisdb.database import drop_database  # noqa: E402
from gisdb.settings import Settings  # noqa: E402
from layers.registry import get_layer  # noqa: E402

HIST = 'history."construction__buildings"'


def _indexes(conn, table: str) -> dict[str, str]:
    rows = conn.exec_driver_sql(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c "
        "ON c.oid = i.indexrelid WHERE i.indrelid = '" + table + "'::regclass AND NOT i.indisprimary")
    return dict(rows.all())


def variants(engine) -> dict[str, tuple[list[str], list[str]]]:
    """Variant name: (DDL that removes the piece, DDL that puts it back)."""
    with engine.connect() as conn:
        hist, log = _indexes(conn, HIST), _indexes(conn, "history.changes")
    out: dict[str, tuple[list[str], list[str]]] = {"off": ([], []), "on": ([], [])}
    for name, definition in {**hist, **log}.items():
        schema = "history."
        out["no:" + name] = (["DROP INDEX " + schema + '"' + name + '"'], [definition])
    for label, group in (("no:version indexes", hist), ("no:log indexes", log), ("no:all indexes", {**hist, **log})):
        out[label] = (["DROP INDEX history.\"" + n + '"' for n in group], list(group.values()))
    track = "history.track__construction__buildings()"
    out["on, work_mem 128MB"] = (["ALTER FUNCTION " + track + " SET work_mem = '128MB'"],
                                 ["ALTER FUNCTION " + track + " SET work_mem = '32MB'"])
    out["no:feed_note"] = (["ALTER TABLE history.changes DISABLE TRIGGER feed_note"],
                         ["ALTER TABLE history.changes ENABLE TRIGGER feed_note"])
    return out


def _ticks(pid: int, children: bool) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15 if children else 13])


def cluster_cpu(base: Settings) -> float:
    """CPU seconds used so far by the embedded cluster: the postmaster with its exited
    children (cutime/cstime) and every live server process (from /proc: the cluster
    runs here). Less swayed by a loaded machine than the wall clock; the history's work
    is all done there. Other sessions of the cluster count too: run nothing else on it."""
    postmaster = int((Cluster(base).pgdata / "postmaster.pid").read_text().split()[0])
    live = [int(p) for p in Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()]
    ticks = _ticks(postmaster, True) + sum(_ticks(p, False) for p in live if Path(f"/proc/{p}").exists())
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> None:
    """Profile the history's pieces over a first load and a full re-import."""
    from gisdb.importing import ImportOptions
    from layers.importing import import_layer
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    args = parser.parse_args()
    base = started_base()
    name, settings, engine = _scratch(base)
    table = get_layer("buildings").table
    times: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    try:
        pieces = variants(engine)
        names = [n for n in pieces if not args.only or n in args.only or n in ("off", "on")]
        with tempfile.TemporaryDirectory() as tmp:
            first = write_buildings(Path(tmp) / "b.gpkg", args.rows)
            second = write_buildings(Path(tmp) / "b2.gpkg", args.rows, floors_offset=1)
            for run in range(args.repeat):
                shift = run % len(names)
                for variant in names[shift:] + names[:shift]:
                    remove, restore = pieces[variant]
                    empty(engine, [table])
                    set_history(engine, variant != "off", [table])
                    with engine.begin() as conn:
                        for ddl in remove:
                            conn.exec_driver_sql(ddl)
                    for label, path in (("first", first), ("again", second)):
                        used = cluster_cpu(base)
                        start = time.perf_counter()
                        report = import_layer(engine, settings, "buildings", path, ImportOptions(mode="upsert"))
                        times.setdefault((variant, label), []).append(time.perf_counter() - start)
                        cpu.setdefault((variant, label), []).append(cluster_cpu(base) - used)
                        assert report.rejected == 0, report.as_dict()
                    with engine.begin() as conn:
                        for ddl in restore:
                            conn.exec_driver_sql(ddl)
                    print(f"run {run + 1} {variant:>28}: {times[(variant, 'first')][-1]:6.1f} s first load, "
                          f"{times[(variant, 'again')][-1]:6.1f} s re-import; server CPU "
                          f"{cpu[(variant, 'first')][-1]:5.1f} s, {cpu[(variant, 'again')][-1]:5.1f} s "
                          f"(load {os.getloadavg()[0]:.1f})",
                          flush=True)
        print(f"\n{args.rows:,} buildings, medians of {args.repeat}, overhead against off (same run):")
        off = {label: statistics.median(times[("off", label)]) for label in ("first", "again")}
        for variant in names:
            first_s, again_s = (statistics.median(times[(variant, label)]) for label in ("first", "again"))
            print(f"  {variant:>28}: first {first_s:6.1f} s ({100 * (first_s / off['first'] - 1):+4.0f}%)  "
                  f"re-import {again_s:6.1f} s ({100 * (again_s / off['again'] - 1):+4.0f}%)")
        print("the cluster's CPU seconds in those imports (medians):")
        off = {label: statistics.median(cpu[("off", label)]) for label in ("first", "again")}
        for variant in names:
            first_s, again_s = (statistics.median(cpu[(variant, label)]) for label in ("first", "again"))
            print(f"  {variant:>28}: first {first_s:6.1f} s ({100 * (first_s / off['first'] - 1):+4.0f}%)  "
                  f"re-import {again_s:6.1f} s ({100 * (again_s / off['again'] - 1):+4.0f}%)")
        print("uptime:", os.popen("uptime").read().strip())
    finally:
        engine.dispose()
        drop_database(base, name)


if __name__ == "__main__":
    main()
