"""Benchmark of the planning rules (run by hand, never in tests).

    GISDB_DATABASE_NAME=rules_bench35 .venv/bin/gisdb sample --scale 35
    GISDB_DATABASE_NAME=rules_bench35 .venv/bin/python bench/rules_bench.py --edits 9

In the database configured (a sample city at scale 35, about a million features; use a
bench database, the edits are committed):
- `checks`: every rule of the catalogue counted over the whole city (`run_checks`), each
  rule's time and the total (target < 60 s); then a full refresh of the violations layer.
- `edit`: single-building edits through the write core (`gisdb.editing`, what the API and
  `gisdb edit` run), alternating a building's floors between its zone's limit (clears
  its violation) and its first value (brings it back); each edit timed alone and the
  violations' refresh after it (`refresh_after_write`) timed beside it (target < 1 s).
  Prints the medians, and the refresh over the edit as a ratio measured in the same
  moment (the machine is shared: absolute times drift with its load).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from gisdb.attribution import Writer  # noqa: E402
from gisdb.crs import crs_from_uri  # noqa: E402
from gisdb.editing.staff import edit_one  # noqa: E402
from gisdb.engine import make_engine  # noqa: E402
from gisdb.settings import Settings  # noqa: E402
from layers.importing import import_target  # noqa: E402
from layers.planning.violations import refresh_after_write, refresh_violations, run_checks  # noqa: E402

WRITER = Writer(actor="rules-bench", source="cli", comment="bench")


def checks(engine) -> None:
    """Every rule over the city, then a full refresh of the layer."""
    started = time.perf_counter()
    with engine.connect() as conn:
        summary = run_checks(conn)
    total = time.perf_counter() - started
    for s in summary:
        print(f"  {s.rule_id:<24} {s.count:>8,} findings  {s.seconds:7.2f} s")
    print(f"all {len(summary)} rules: {total:.1f} s (target < 60 s), "
          f"{sum(s.count for s in summary):,} findings")
    started = time.perf_counter()
    with engine.begin() as conn:
        rows = refresh_violations(conn)
    print(f"full refresh of the violations layer: {time.perf_counter() - started:.1f} s, {rows:,} rows")


def _candidates(engine, n: int) -> list[tuple[int, int, int]]:
    """(building id, its floors, its zone's limit) of n buildings above their zone's floors."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT b.id, b.floors, z.max_floors FROM planning.violations v "
            "JOIN construction.buildings b ON b.id = v.feature_id "
            "JOIN land.zoning z ON ST_Intersects(z.geom, ST_PointOnSurface(b.geom)) "
            "WHERE v.rule_id = 'zoning_floors' ORDER BY v.feature_id LIMIT :n"), {"n": n})]


def edits(engine, n: int) -> None:
    """Edits and their refreshes, timed side by side."""
    target, crs = import_target("buildings"), crs_from_uri(None)
    edit_s, refresh_s, ratios = [], [], []
    for fid, floors, limit in _candidates(engine, n):
        for value in (limit, floors):
            started = time.perf_counter()
            edit_one(engine, target, fid, WRITER, crs, properties={"floors": value})
            edited = time.perf_counter()
            refresh_after_write(engine, "buildings", [fid])
            done = time.perf_counter()
            edit_s.append(edited - started)
            refresh_s.append(done - edited)
            ratios.append((done - edited) / (edited - started))
    print(f"{len(edit_s)} single-building edits: edit median {statistics.median(edit_s) * 1000:.0f} ms, "
          f"refresh median {statistics.median(refresh_s) * 1000:.0f} ms "
          f"(max {max(refresh_s) * 1000:.0f} ms; target < 1000 ms), "
          f"refresh / edit median ratio {statistics.median(ratios):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edits", type=int, default=9, help="buildings edited (twice each)")
    parser.add_argument("--skip-checks", action="store_true", help="only the edits")
    args = parser.parse_args()
    engine = make_engine(Settings.from_env(), pool_size=2, timeout_ms=600_000)
    try:
        if not args.skip_checks:
            checks(engine)
        edits(engine, args.edits)
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
