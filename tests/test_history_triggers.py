"""The database keeps the history itself: plain SQL (no settings: the session user,
source `sql`), attributed writers (the GUCs), no-op updates, deletes, truncates, and
rolled-back or killed transactions (nothing at all)."""
from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from history_support import BIGGER, add_parcel, attribute, changes, versions
from import_support import imp_engine, imp_settings  # noqa: F401  (fixtures)
from layers.registry import history_tracked


def test_every_layer_and_the_counts_have_a_version_table_and_triggers(imp_engine):
    with imp_engine.connect() as conn:
        tables = set(conn.execute(sa.text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'history'")).scalars())
        triggers = conn.execute(sa.text(
            "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'history\\_%' AND NOT tgisinternal")).scalar()
    tracked = history_tracked()
    assert len(tracked) == 12
    assert tables == {f"{t.schema}__{t.name}" for _, t in tracked} | {"changes"}
    assert triggers == 4 * 12


def test_plain_sql_insert_update_delete_are_versioned_as_the_session_user(imp_engine):
    with imp_engine.begin() as conn:
        fid = add_parcel(conn, 1001)
    with imp_engine.begin() as conn:
        conn.execute(sa.text("UPDATE land.parcels SET land_use = 'TMD' WHERE id = :i"), {"i": fid})
    with imp_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM land.parcels WHERE id = :i"), {"i": fid})
    with imp_engine.connect() as conn:
        user = conn.execute(sa.text("SELECT session_user")).scalar()
        rows, logged = versions(conn, fid), changes(conn, fid)
    assert [(r["hist_op"], r["land_use"]) for r in rows] == [("I", "ODT"), ("U", "TMD")]
    assert rows[0]["hist_to"] == rows[1]["hist_from"] and rows[1]["hist_to"] is not None
    assert rows[1]["hist_to"] > rows[1]["hist_from"]
    assert {(r["hist_actor"], r["hist_source"]) for r in rows} == {(user, "sql")}
    assert [c["op"] for c in logged] == ["I", "U", "D"]
    assert [c["change_id"] for c in logged[:2]] == [r["hist_change_id"] for r in rows]
    assert {(c["actor"], c["source"]) for c in logged} == {(user, "sql")}


def test_attribution_settings_are_recorded(imp_engine):
    with imp_engine.begin() as conn:
        attribute(conn, actor="lan.nguyen", source="import", import_id=42, request_id="req-7",
                  comment="survey 2026")
        fid = add_parcel(conn, 1002)
    with imp_engine.connect() as conn:
        (row,), (logged,) = versions(conn, fid), changes(conn, fid)
    assert (row["hist_actor"], row["hist_source"], row["hist_import_id"], row["hist_request_id"],
            row["hist_comment"]) == ("lan.nguyen", "import", 42, "req-7", "survey 2026")
    assert (logged["actor"], logged["source"], logged["import_id"], logged["request_id"]) == \
        ("lan.nguyen", "import", 42, "req-7")


def test_an_update_that_changes_nothing_records_nothing(imp_engine):
    with imp_engine.begin() as conn:
        fid = add_parcel(conn, 1003)
    with imp_engine.begin() as conn:
        conn.execute(sa.text("UPDATE land.parcels SET land_use = land_use, geom = geom WHERE id = :i"),
                     {"i": fid})
        conn.execute(sa.text("UPDATE land.parcels SET geom = ST_GeomFromEWKT(:g) WHERE id = :i"),
                     {"i": fid, "g": BIGGER})
    with imp_engine.connect() as conn:
        assert [r["hist_op"] for r in versions(conn, fid)] == ["I", "U"]
        assert [c["op"] for c in changes(conn, fid)] == ["I", "U"]


def test_many_rows_in_one_statement_and_a_key_update(imp_engine):
    with imp_engine.begin() as conn:
        ids = [add_parcel(conn, 1100 + i) for i in range(3)]
        conn.execute(sa.text("UPDATE land.parcels SET land_use = 'DGT' WHERE id = ANY(:ids)"), {"ids": ids})
        conn.execute(sa.text("UPDATE land.parcels SET id = id + 1000000 WHERE id = :i"), {"i": ids[0]})
    with imp_engine.connect() as conn:
        assert [r["hist_op"] for r in versions(conn, ids[1])] == ["I", "U"]
        assert [c["op"] for c in changes(conn, ids[0])] == ["I", "U", "D"]
        assert [c["op"] for c in changes(conn, ids[0] + 1000000)] == ["I"]
        assert versions(conn, ids[0])[-1]["hist_to"] is not None


def test_truncate_records_a_delete_per_row(imp_engine):
    with imp_engine.begin() as conn:
        fid = conn.execute(sa.text(
            "INSERT INTO traffic.intersections (node_code, signalised, geom) "
            "VALUES ('N-T1', true, ST_GeomFromText('POINT(108.21 16.05)', 4326)) RETURNING id")).scalar()
    with imp_engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE traffic.intersections CASCADE"))
    with imp_engine.connect() as conn:
        ops = conn.execute(sa.text("SELECT op FROM history.changes WHERE layer = 'intersections' "
                                   "AND feature_id = :i ORDER BY change_id"), {"i": str(fid)}).scalars().all()
        open_versions = conn.execute(sa.text(
            "SELECT count(*) FROM history.traffic__intersections WHERE hist_to IS NULL")).scalar()
    assert ops == ["I", "D"] and open_versions == 0


def _history_rows(conn) -> tuple[int, int]:
    return (conn.execute(sa.text("SELECT count(*) FROM history.land__parcels")).scalar(),
            conn.execute(sa.text("SELECT count(*) FROM history.changes")).scalar())


def test_a_rolled_back_write_leaves_no_history(imp_engine):
    with imp_engine.connect() as conn:
        before = _history_rows(conn)
    with imp_engine.connect() as conn, conn.begin() as tx:
        add_parcel(conn, 1200)
        conn.execute(sa.text("UPDATE land.parcels SET land_use = 'CLN'"))
        assert _history_rows(conn) != before
        tx.rollback()
    with pytest.raises(sa.exc.IntegrityError):
        with imp_engine.begin() as conn:
            add_parcel(conn, 1201)
            add_parcel(conn, 1201)      # natural key clash: the whole transaction fails
    with imp_engine.connect() as conn:
        assert _history_rows(conn) == before


def test_a_killed_writer_leaves_no_history(imp_engine):
    with imp_engine.connect() as conn:
        before = _history_rows(conn)
    pids: list[int] = []
    failure: list[BaseException] = []

    def long_write():
        try:
            with imp_engine.begin() as conn:
                pids.append(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar())
                conn.execute(sa.text(
                    "INSERT INTO land.parcels (ward_code, sheet_no, parcel_no, area_m2, land_use, geom) "
                    "SELECT '20194', 9, g, 100, 'ODT', ST_Multi(ST_Buffer(ST_Point(108.2, 16.0, 4326), "
                    "0.0001)) FROM generate_series(1, 5000) g"))
                conn.execute(sa.text("SELECT pg_sleep(30)"))
        except BaseException as exc:   # the kill surfaces here
            failure.append(exc)

    worker = threading.Thread(target=long_write)
    worker.start()
    deadline = time.monotonic() + 20
    while not pids and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    with imp_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pids[0]}).scalar()
    worker.join(30)
    assert failure, "the killed transaction should have failed"
    with imp_engine.connect() as conn:
        assert _history_rows(conn) == before


def test_versions_as_of_gives_the_rows_of_that_instant(imp_engine):
    from gisdb.history.as_of import versions_as_of
    from layers.registry import get_layer
    parcels = get_layer("parcels").table
    with imp_engine.begin() as conn:
        fid = add_parcel(conn, 1300)
        before = conn.execute(sa.text("SELECT now()")).scalar()
    with imp_engine.begin() as conn:
        conn.execute(sa.text("UPDATE land.parcels SET land_use = 'SKC' WHERE id = :i"), {"i": fid})
    with imp_engine.connect() as conn:
        then = versions_as_of(parcels, before)
        assert conn.execute(sa.select(then.c.land_use).where(then.c.id == fid)).scalar() == "ODT"
        now = versions_as_of(parcels, conn.execute(sa.text("SELECT clock_timestamp()")).scalar())
        assert conn.execute(sa.select(now.c.land_use).where(now.c.id == fid)).scalar() == "SKC"
