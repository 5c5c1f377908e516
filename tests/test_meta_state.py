"""`meta.state` has one spelling (`gisdb.meta_state`, on the SchemaState model): what is
recorded reads back, a second record replaces the first, forgetting removes only the keys
named; the sample loader's marker goes through it."""
from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from gisdb.meta_state import forget_state, has_state, record_state, state_value
from gisdb.meta_tables import SchemaState
from layers.bootstrap import sample_loaded
from layers.sample.load import BOOTSTRAP_KEY, sample_state

ROOT = Path(__file__).resolve().parents[1]
SQL_ON_STATE = re.compile(r"\b(FROM|INTO|UPDATE)\s+meta\.state\b", re.IGNORECASE)


def _changed_at(conn, key):
    return conn.execute(sa.select(SchemaState.changed_at).where(SchemaState.key == key)).scalar()


def test_record_read_replace_forget(engine):
    with engine.connect() as conn, conn.begin() as tx:
        assert state_value(conn, "probe.a") is None and not has_state(conn, "probe.a")
        record_state(conn, "probe.a", "1")
        record_state(conn, "probe.b", "x")
        assert state_value(conn, "probe.a") == "1" and has_state(conn, "probe.a")
        first = _changed_at(conn, "probe.a")
        conn.exec_driver_sql("SELECT pg_sleep(0.01)")
        tx.commit()
    with engine.begin() as conn:
        record_state(conn, "probe.a", "2")
        assert state_value(conn, "probe.a") == "2"
        assert _changed_at(conn, "probe.a") > first
        forget_state(conn, "probe.a", "probe.missing")
        assert not has_state(conn, "probe.a") and state_value(conn, "probe.b") == "x"
        forget_state(conn, "probe.b")
        assert not has_state(conn, "probe.b")


def test_the_sample_loader_records_through_it(engine, sample_city):
    with engine.connect() as conn:
        assert sample_loaded(conn) and has_state(conn, BOOTSTRAP_KEY)
        loaded = {k: v for k, v in sample_city.items() if k != "violations"}   # derived, not loaded
        assert int(state_value(conn, BOOTSTRAP_KEY)) == sum(loaded.values())
        assert sample_state(conn)["counts"] == loaded


def test_no_module_spells_sql_on_meta_state():
    spelled = [path.relative_to(ROOT).as_posix()
               for package in ("gisdb", "layers", "tiles", "webmap", "scripts")
               for path in sorted((ROOT / package).rglob("*.py"))
               if SQL_ON_STATE.search(path.read_text(encoding="utf-8"))]
    assert spelled == []
