"""History through imports and the command line: an import is attributed (source
import, its id), re-running it adds nothing, a failed import leaves nothing; `gisdb
history`, `gisdb diff` (text, JSON, CSV), `gisdb revert --import N` (refused with the
features a later change touched) and `gisdb revert LAYER ID --to T`."""
from __future__ import annotations

import csv
import io
import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gisdb.errors import ImportFailed
from history_support import changes, versions
from import_support import imp_engine, imp_settings, run, write_parcels  # noqa: F401  (fixtures)
from scripts.cli import main


def _now(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT clock_timestamp()")).scalar()


def _ids(engine, first_no: int, n: int) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT id FROM land.parcels WHERE sheet_no = 12 AND parcel_no BETWEEN :a AND :b ORDER BY parcel_no"),
            {"a": first_no, "b": first_no + n - 1}).scalars())


def _cli(settings, *args):
    env = {"GISDB_DATABASE_URL": settings.database_url, "GISDB_DATA_DIR": str(settings.data_dir)}
    return CliRunner().invoke(main, list(args), env=env)


def _history_size(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (conn.execute(sa.text("SELECT count(*) FROM history.land__parcels")).scalar(),
                conn.execute(sa.text("SELECT count(*) FROM history.changes")).scalar())


@pytest.fixture(scope="module")
def imported(imp_engine, imp_settings, tmp_path_factory):
    """Ten parcels imported, and the time just before."""
    before = _now(imp_engine)
    path = write_parcels(tmp_path_factory.mktemp("hist") / "p.gpkg", 10, start=1, driver="GPKG")
    report = run(imp_engine, imp_settings, "parcels", path, mode="upsert")
    return {"before": before, "after": _now(imp_engine), "path": path, "import_id": report.import_id,
            "ids": _ids(imp_engine, 1, 10)}


def test_an_import_is_attributed_and_a_rerun_adds_nothing(imp_engine, imp_settings, imported):
    with imp_engine.connect() as conn:
        (version,), logged = versions(conn, imported["ids"][0]), changes(conn, imported["ids"][0])
    assert (version["hist_source"], version["hist_import_id"]) == ("import", imported["import_id"])
    assert [(c["op"], c["source"], c["import_id"]) for c in logged] == [("I", "import", imported["import_id"])]
    size = _history_size(imp_engine)
    again = run(imp_engine, imp_settings, "parcels", imported["path"], mode="upsert")
    assert again.changes["unchanged"] == 10 and _history_size(imp_engine) == size


def test_a_failed_import_leaves_no_history(imp_engine, imp_settings, imported, tmp_path, monkeypatch):
    from gisdb.importing import log

    def killed(*args, **kwargs):
        raise ImportFailed("killed after the rows were written")

    size = _history_size(imp_engine)
    monkeypatch.setattr(log, "finish_record", killed)
    with pytest.raises(ImportFailed):
        run(imp_engine, imp_settings, "parcels", write_parcels(tmp_path / "k.gpkg", 30, start=500,
                                                                 driver="GPKG"), mode="upsert")
    assert _history_size(imp_engine) == size


def test_history_and_diff_commands(imp_engine, imp_settings, imported):
    fid = imported["ids"][1]
    t1 = _now(imp_engine)
    with imp_engine.begin() as conn:
        conn.execute(sa.text("UPDATE land.parcels SET land_use = 'DGT' WHERE id = :i"), {"i": fid})
        conn.execute(sa.text("DELETE FROM land.parcels WHERE id = :i"), {"i": imported["ids"][2]})
    out = _cli(imp_settings, "history", "parcels", str(fid))
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[1].split()[1] == "U" and "land_use" in lines[1] and lines[2].split()[1] == "I"
    as_json = json.loads(_cli(imp_settings, "history", "parcels", str(fid), "--json").output)
    assert as_json[0]["changes"]["land_use"][1] == "DGT"
    diff = json.loads(_cli(imp_settings, "diff", "parcels", "--from", t1.isoformat(), "--format", "json").output)
    assert [c["id"] for c in diff["changed"]] == [fid] and diff["changed"][0]["fields"] == ["land_use"]
    assert [r["id"] for r in diff["removed"]] == [imported["ids"][2]] and diff["added"] == []
    whole = _cli(imp_settings, "diff", "parcels", "--from", imported["before"].isoformat(), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(whole.output)))
    assert {r["change"] for r in rows} == {"added"} and len(rows) == 9       # one of the ten is gone again
    assert rows[0]["parcel_no"] and rows[0]["ward_code"] == "20194"
    text = _cli(imp_settings, "diff", "parcels", "--from", t1.isoformat())
    assert text.exit_code == 0 and "0 added, 1 removed, 1 changed" in text.stderr


def test_revert_a_feature_to_an_instant(imp_engine, imp_settings, imported):
    fid = imported["ids"][3]
    t1 = _now(imp_engine)
    with imp_engine.begin() as conn:
        conn.execute(sa.text("UPDATE land.parcels SET land_use = 'SKC', address = 'x' WHERE id = :i"), {"i": fid})
    out = _cli(imp_settings, "revert", "parcels", str(fid), "--to", t1.isoformat())
    assert out.exit_code == 0 and "parcels: 1 updated" in out.output, out.output
    with imp_engine.connect() as conn:
        rows = versions(conn, fid)
    assert rows[-1]["land_use"] == rows[-3]["land_use"] != "SKC"
    assert (rows[-1]["hist_source"], rows[-1]["hist_comment"].split()[:3]) == ("cli", ["revert", "parcels", str(fid)])
    gone = imported["ids"][2]       # deleted in the test above: comes back with its id
    out = _cli(imp_settings, "revert", "parcels", str(gone), "--to", imported["before"].isoformat())
    assert "nothing to change" in out.output      # it did not exist then either
    out = _cli(imp_settings, "revert", "parcels", str(gone), "--to", imported["after"].isoformat())
    assert "parcels: 1 inserted" in out.output
    with imp_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM land.parcels WHERE id = :i"), {"i": gone}).scalar() == 1


def test_revert_an_import(imp_engine, imp_settings, imported, tmp_path):
    path = write_parcels(tmp_path / "second.gpkg", 5, start=100, driver="GPKG")
    second = run(imp_engine, imp_settings, "parcels", path, mode="upsert")
    ids = _ids(imp_engine, 100, 5)
    assert len(ids) == 5
    with imp_engine.begin() as conn:
        conn.execute(sa.text("UPDATE land.parcels SET land_use = 'LUC' WHERE id = :i"), {"i": ids[4]})
    refused = _cli(imp_settings, "revert", "--import", str(second.import_id))
    assert refused.exit_code == 1 and f"parcels {ids[4]}" in refused.stderr and "1 of its features" in refused.stderr
    assert len(_ids(imp_engine, 100, 5)) == 5          # refused: nothing changed
    with imp_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM land.parcels WHERE id = :i"), {"i": ids[4]})
    third = run(imp_engine, imp_settings, "parcels", write_parcels(tmp_path / "third.gpkg", 3, start=200,
                                                                      driver="GPKG"), mode="upsert")
    out = _cli(imp_settings, "revert", "--import", str(third.import_id))
    assert out.exit_code == 0 and "parcels: 3 deleted" in out.output, out.output
    assert _ids(imp_engine, 200, 3) == []
    again = _cli(imp_settings, "revert", "--import", str(third.import_id))
    assert again.exit_code == 1 and "Conflict" in again.stderr       # its features changed since: by the revert


@pytest.mark.parametrize("args, code, words", [
    (["diff", "parcels", "--from", "yesterday"], 2, "not a date"),
    (["diff", "nosuch", "--from", "2026-01-01"], 1, "no layer named"),
    (["diff", "parcels", "--from", "2026-01-02", "--to", "2026-01-01"], 1, "before"),
    (["history", "parcels", "987654321"], 1, "ever existed"),
    (["history", "parcels", "abc"], 2, "not a valid integer"),
    (["revert"], 2, "either --import"),
    (["revert", "parcels", "1"], 2, "all three"),
    (["revert", "--import", "999999"], 1, "changed no feature"),
    (["revert", "parcels", "987654321", "--to", "now"], 1, "ever existed"),
])
def test_bad_commands_say_what_is_wrong(imp_settings, args, code, words):
    out = _cli(imp_settings, *args)
    assert out.exit_code == code and words in out.stderr + out.output, out.stderr + out.output
