"""Data versions have one owner (`gisdb.versions`): the plain lookup, the tile server's
prepared driver statement, the versions read inside a tile's own statement and the feature
API's table state all give the same numbers, before and after an edit; and no other module
spells SQL against `meta.layer_versions`."""
from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from gisdb.versions import table_versions, versions_object
from layers.registry import get_layer
from tiles.grid import Tile, lonlat_to_tile
from tiles.mvt import render_mvt_versions
from tiles.vector import fast_versions
from webmap.api.table_state import table_state

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gisdb", "layers", "tiles", "webmap", "scripts")
LAYERS = [get_layer(layer_id) for layer_id in ("parcels", "roads", "incidents")]
TILE = Tile(16, *lonlat_to_tile(108.2208, 16.0678, 16))
SQL_ON_VERSIONS = re.compile(r"\b(FROM|INTO|UPDATE)\s+meta\.layer_versions\b", re.IGNORECASE)


def _every_reading(conn) -> list[dict[str, int]]:
    tables = [layer.table_name for layer in LAYERS]
    in_statement = conn.execute(sa.select(versions_object(sa.literal(tables, sa.ARRAY(sa.Text))))).scalar()
    _, in_tile = render_mvt_versions(conn, LAYERS, TILE)
    return [table_versions(conn, tables),
            {k: v for k, v in table_versions(conn).items() if k in tables},
            fast_versions(conn, tables),
            {name: int(v) for name, v in in_statement.items()},
            in_tile,
            {layer.table_name: table_state(conn, layer).version for layer in LAYERS}]


def test_every_reader_gives_the_same_versions_before_and_after_an_edit(engine, sample_city):
    parcels = get_layer("parcels")
    with engine.connect() as conn, conn.begin() as tx:
        before = _every_reading(conn)
        assert len(before[0]) == len(LAYERS) and all(reading == before[0] for reading in before)
        conn.execute(parcels.table.update().where(sa.false()).values(area_m2=1))  # a statement: a bump
        after = _every_reading(conn)
        assert all(reading == after[0] for reading in after)
        assert after[0][parcels.table_name] > before[0][parcels.table_name]
        assert {k: v for k, v in after[0].items() if k != parcels.table_name} == \
            {k: v for k, v in before[0].items() if k != parcels.table_name}
        tx.rollback()


def test_only_gisdb_versions_spells_sql_on_the_versions_table():
    spelled = [path.relative_to(ROOT).as_posix()
               for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
               if SQL_ON_VERSIONS.search(path.read_text(encoding="utf-8"))]
    assert spelled == ["gisdb/versions.py"]


def _wait_until_blocked(engine, pid: int) -> None:
    with engine.connect() as watcher:
        for _ in range(200):
            waiting = watcher.execute(sa.text(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).scalar()
            if waiting:
                return
            time.sleep(0.025)
    raise AssertionError("the second writer never waited for the first one's lock")


def test_a_writer_that_waited_never_moves_the_version_backwards(engine, sample_city):
    """A holds the version row (its first statement), B's bump waits for it, A bumps again
    and commits: B, committing last, must leave a version above A's last one (a number
    drawn before B's wait would be below it)."""
    roads = get_layer("roads")
    bump = roads.table.update().where(sa.false()).values(name="x")
    with engine.connect() as a, engine.connect() as b:
        a.begin()
        a.execute(bump)
        b_pid = b.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        b.rollback()
        b_done = threading.Event()

        def second_writer() -> None:
            with b.begin():
                b.execute(bump)
            b_done.set()

        writer = threading.Thread(target=second_writer)
        writer.start()
        try:
            _wait_until_blocked(engine, b_pid)
            a.execute(bump)
            a_version = table_versions(a, [roads.table_name])[roads.table_name]
            a.commit()
        finally:
            writer.join(timeout=30)
        assert b_done.is_set()
    with engine.connect() as conn:
        assert table_versions(conn, [roads.table_name])[roads.table_name] > a_version
