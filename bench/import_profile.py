"""Where an import's time goes (run by hand, never in tests).

    .venv/bin/python bench/import_profile.py --rows 200000

Imports a GeoPackage of N buildings (bench/history_bench.py's file) into the empty
`buildings` layer of a scratch database, then a copy with every feature changed (a full
re-import), and prints each SQL statement's time (the validation, the plan, the upsert,
the index rebuilds; the history triggers run inside the writes and are shown apart from
pg_stat_user_functions), the staging COPY, and the rest (reading the file with pyogrio's
Arrow reader, overlapping the COPY on a background thread; the log and the attribution).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import sqlalchemy as sa

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "bench"))

from history_bench import _scratch, started_base, trigger_seconds, write_buildings  # noqa: E402

from gisdb.database import drop_database  # noqa: E402
from gisdb.importing import staging  # noqa: E402
from layers.registry import get_layer  # noqa: E402

SHOWN = 12


class StatementClock:
    """Time per SQL statement (first words as the label) and in the staging COPY."""

    def __init__(self, engine):
        self.spent: dict[str, float] = defaultdict(float)
        self._started: dict[int, float] = {}
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)
        copy_chunk = staging.copy_chunk

        def timed_copy(*args, **kwargs):
            start = time.perf_counter()
            try:
                return copy_chunk(*args, **kwargs)
            finally:
                self.spent["COPY staging"] += time.perf_counter() - start
        staging.copy_chunk = timed_copy
        import gisdb.importing.pipeline as pipeline
        pipeline.copy_chunk = timed_copy

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self._started[id(cursor)] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        label = " ".join(statement.split())[:110]
        self.spent[label] += time.perf_counter() - self._started.pop(id(cursor), time.perf_counter())

    def report(self, total: float, trigger: float) -> None:
        """Print the statements by time, the trigger's share and the rest."""
        ranked = sorted(self.spent.items(), key=lambda kv: -kv[1])
        for label, seconds in ranked[:SHOWN]:
            print(f"  {seconds:7.2f} s  {100 * seconds / total:4.0f}%  {label}")
        measured = sum(self.spent.values())
        print(f"  history trigger (inside the writes above): {trigger:.2f} s")
        print(f"  outside SQL and COPY (reading not overlapped, log, Python): {total - measured:.2f} s "
              f"of {total:.2f} s")
        self.spent.clear()


def main() -> None:
    """Profile a first import and a full re-import of N buildings."""
    from gisdb.importing import ImportOptions
    from layers.importing import import_layer
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    base = started_base()
    name, settings, engine = _scratch(base)
    table = get_layer("buildings").table
    try:
        with tempfile.TemporaryDirectory() as tmp:
            first = write_buildings(Path(tmp) / "b.gpkg", args.rows)
            second = write_buildings(Path(tmp) / "b2.gpkg", args.rows, floors_offset=1)
            clock = StatementClock(engine)
            for label, path in (("first load", first), ("full re-import", second)):
                before = trigger_seconds(engine, table)
                start = time.perf_counter()
                report = import_layer(engine, settings, "buildings", path, ImportOptions(mode="upsert"))
                total = time.perf_counter() - start
                print(f"{label}: {args.rows:,} buildings in {total:.2f} s ({report.changes})")
                clock.report(total, trigger_seconds(engine, table) - before)
    finally:
        engine.dispose()
        drop_database(base, name)


if __name__ == "__main__":
    main()
