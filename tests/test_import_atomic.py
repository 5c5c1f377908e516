"""Atomic and idempotent imports: a killed import leaves the layer as it was, replace
asks for --force before removing most of a layer, invalid geometries follow
--on-invalid, append refuses keys already there, and every run is in the log."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from click.testing import CliRunner

from gisdb.errors import ImportFailed
from gisdb.importing.log import list_imports
from import_support import clear, count, imp_engine, imp_settings, run, version, write_parcels  # noqa: F401
from layers.registry import get_layer
from scripts.cli import main

PROJECT = Path(__file__).resolve().parents[1]


def _env(settings) -> dict:
    env = dict(os.environ)
    env["GISDB_DATABASE_URL"] = settings.database_url
    env["GISDB_DATA_DIR"] = str(settings.data_dir)
    return env


def test_killed_import_leaves_the_layer_unchanged(imp_engine, imp_settings, tmp_path):
    clear(imp_engine, "parcels")
    run(imp_engine, imp_settings, "parcels", write_parcels(tmp_path / "base.gpkg", 50, driver="GPKG"))
    before = (count(imp_engine, "parcels"), version(imp_engine, "parcels"))
    big = write_parcels(tmp_path / "big.gpkg", 60_000, start=1000, driver="GPKG", size=0.00005)
    proc = subprocess.Popen([sys.executable, "-c", "from scripts.cli import main; main()", "import", "parcels", str(big),
                             "--chunk-size", "2000", "--mode", "replace", "--force"],
                            cwd=PROJECT, env=_env(imp_settings), stderr=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "staged" in line and "60,000/" not in line:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, seen
    deadline = time.monotonic() + 30
    with imp_engine.connect() as conn:          # wait until the server has dropped the session
        while conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                   "'gisdb-import' AND datname = current_database()")).scalar() and \
                time.monotonic() < deadline:
            time.sleep(0.2)
    assert (count(imp_engine, "parcels"), version(imp_engine, "parcels")) == before
    runs = list_imports(imp_engine, limit=1, layer="parcels")
    # The trace it left: the killed run is told apart from one still running.
    assert runs[0]["status"] == "interrupted" and runs[0]["file_name"].endswith("big.gpkg")
    killed = runs[0]["id"]
    run(imp_engine, imp_settings, "parcels", write_parcels(tmp_path / "base.gpkg", 50, driver="GPKG"))
    after = {r["id"]: r for r in list_imports(imp_engine, limit=5, layer="parcels")}
    assert after[killed]["status"] == "interrupted" and after[killed]["finished_at"] is not None
    assert "killed or crashed" in after[killed]["message"]
    with imp_engine.connect() as conn:          # recorded for good, not only shown so
        assert conn.execute(sa.text("SELECT status FROM meta.imports WHERE id = :i"),
                            {"i": killed}).scalar() == "interrupted"


def test_a_live_import_shows_as_running(imp_engine, imp_settings, tmp_path):
    """While a run's process lives, the log says running (its lease holds the lock)."""
    from gisdb.importing import log
    from gisdb.importing.report import ImportReport
    report = ImportReport(layer="parcels", file="live.gpkg", mode="upsert", sha256="0" * 64, dry_run=True)
    with imp_engine.connect() as lease:
        import_id = log.start_record(lease, report)
        shown = {r["id"]: r["status"] for r in list_imports(imp_engine, limit=50)}
        assert shown[import_id] == "running"
        log.release(lease, import_id)
    shown = {r["id"]: r["status"] for r in list_imports(imp_engine, limit=50)}
    assert shown[import_id] == "interrupted"
    with imp_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM meta.imports WHERE id = :i"), {"i": import_id})


def test_replace_needs_force_to_remove_most_of_a_layer(imp_engine, imp_settings, tmp_path):
    clear(imp_engine, "parcels")
    run(imp_engine, imp_settings, "parcels", write_parcels(tmp_path / "a.geojson", 100, driver="GeoJSON"))
    other = write_parcels(tmp_path / "b.geojson", 10, start=500, driver="GeoJSON")
    before = version(imp_engine, "parcels")
    with pytest.raises(ImportFailed, match="--force"):
        run(imp_engine, imp_settings, "parcels", other, mode="replace")
    assert count(imp_engine, "parcels") == 100 and version(imp_engine, "parcels") == before
    dry = run(imp_engine, imp_settings, "parcels", other, mode="replace", dry_run=True)
    assert dry.changes["deleted"] == 100 and any("--force" in w for w in dry.warnings)
    done = run(imp_engine, imp_settings, "parcels", other, mode="replace", force=True)
    assert done.changes == {**done.changes, "inserted": 10, "deleted": 100}
    assert count(imp_engine, "parcels") == 10


def test_replace_keeps_ids_of_unchanged_features(imp_engine, imp_settings, tmp_path):
    clear(imp_engine, "parcels")
    path = write_parcels(tmp_path / "a.fgb", 30, driver="FlatGeobuf")
    run(imp_engine, imp_settings, "parcels", path)
    table = get_layer("parcels").table
    with imp_engine.connect() as conn:
        ids = set(conn.execute(sa.select(table.c.id)).scalars())
    before = version(imp_engine, "parcels")
    again = run(imp_engine, imp_settings, "parcels", path, mode="replace")
    assert again.changes["unchanged"] == 30 and again.changes["deleted"] == 0
    with imp_engine.connect() as conn:
        assert set(conn.execute(sa.select(table.c.id)).scalars()) == ids
    assert version(imp_engine, "parcels") == before


def _bowtie_file(tmp_path) -> Path:
    path = tmp_path / "bowtie.geojson"
    write_parcels(path, 3, start=900, driver="GeoJSON")
    data = json.loads(path.read_text())
    bowtie = shapely.Polygon([(108.2, 16.05), (108.201, 16.051), (108.201, 16.05), (108.2, 16.051), (108.2, 16.05)])
    data["features"][0]["geometry"] = json.loads(shapely.to_geojson(bowtie))
    path.write_text(json.dumps(data))
    return path


def test_on_invalid_fix_reject_fail(imp_engine, imp_settings, tmp_path):
    clear(imp_engine, "parcels")
    path = _bowtie_file(tmp_path)
    with pytest.raises(ImportFailed, match="invalid geometries"):
        run(imp_engine, imp_settings, "parcels", path, on_invalid="fail")
    rejected = run(imp_engine, imp_settings, "parcels", path, on_invalid="reject", dry_run=True)
    assert rejected.reasons == {"invalid_geometry_rejected": 1} and rejected.loaded == 2
    fixed = run(imp_engine, imp_settings, "parcels", path, on_invalid="fix")
    assert fixed.repairs["invalid_geometry_repaired"] == 1 and fixed.loaded == 3
    table = get_layer("parcels").table
    with imp_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.bool_and(sa.func.ST_IsValid(table.c.geom)))).scalar() is True


def test_append_rejects_keys_already_there_and_bad_values(imp_engine, imp_settings, tmp_path):
    clear(imp_engine, "parcels")
    path = write_parcels(tmp_path / "a.geojson", 20, driver="GeoJSON")
    run(imp_engine, imp_settings, "parcels", path, mode="append")
    again = run(imp_engine, imp_settings, "parcels", path, mode="append")
    assert again.reasons == {"already_in_layer": 20} and again.loaded == 0
    bad = tmp_path / "bad.csv"
    poly = '"POLYGON((108.2 16.05,108.201 16.05,108.201 16.051,108.2 16.05))"'
    bad.write_text("ward_code,sheet_no,parcel_no,area_m2,land_use,wkt\n"
                   f"20194,7,1,120.5,ODT,{poly}\n"
                   f"20194,7,2,12x,ODT,{poly}\n"
                   f"20194,7,3,99,XYZ,{poly}\n"
                   f"20194,,4,99,ODT,{poly}\n"
                   '20194,7,5,99,ODT,"LINESTRING(108.2 16.05,108.201 16.05)"\n', encoding="utf-8")
    report = run(imp_engine, imp_settings, "parcels", bad, mode="append")
    assert (report.read, report.loaded, report.rejected) == (5, 1, 4)
    assert report.details["value_does_not_fit:area_m2"] == 1
    assert report.details["value_not_allowed:parcels_land_use"] == 1
    assert report.details["missing_required:sheet_no"] == 1
    assert report.reasons["wrong_geometry_type"] == 1


def test_cli_import_and_imports_log(imp_engine, imp_settings, tmp_path):
    clear(imp_engine, "parcels")
    path = write_parcels(tmp_path / "cli.geojson", 15, driver="GeoJSON")
    runner = CliRunner()
    env = {"GISDB_DATABASE_URL": imp_settings.database_url, "GISDB_DATA_DIR": str(imp_settings.data_dir)}
    result = runner.invoke(main, ["import", "parcels", str(path), "--dry-run", "--report",
                                  str(tmp_path / "dry.json")], env=env)
    assert result.exit_code == 0, result.output
    assert "DRY RUN" in result.output and "rows read" in result.output
    assert count(imp_engine, "parcels") == 0
    result = runner.invoke(main, ["import", "parcels", str(path), "--quiet"], env=env)
    assert result.exit_code == 0 and "rows loaded" in result.output
    assert count(imp_engine, "parcels") == 15
    result = runner.invoke(main, ["imports", "--layer", "parcels", "--limit", "2"], env=env)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert "cli.geojson" in lines[1] and "done" in lines[1] and "dry-run" in lines[2]
    result = runner.invoke(main, ["import", "nosuchlayer", str(path)], env=env)
    assert result.exit_code != 0 and "nosuchlayer" in result.output


def test_postgis_is_the_final_judge_of_validity(imp_engine, imp_settings, tmp_path, monkeypatch):
    """If the reader's validity test (shapely) calls a geometry valid that PostGIS does
    not, the layer's CHECK refuses it and the import validates again in PostGIS."""
    import gisdb.importing.sources as sources
    clear(imp_engine, "parcels")
    monkeypatch.setattr(sources.shapely, "is_valid", lambda geoms: np.ones(len(geoms), dtype=bool))
    report = run(imp_engine, imp_settings, "parcels", _bowtie_file(tmp_path))
    assert report.loaded == 3 and report.repairs["invalid_geometry_repaired"] == 1
    assert any("disagreed" in w for w in report.warnings)


def test_upsert_updates_only_what_changed(imp_engine, imp_settings, tmp_path):
    clear(imp_engine, "parcels")
    path = write_parcels(tmp_path / "u.geojson", 10, driver="GeoJSON")
    run(imp_engine, imp_settings, "parcels", path)
    data = json.loads(path.read_text())
    data["features"][3]["properties"]["area_m2"] = 999.5
    path.write_text(json.dumps(data))
    before = version(imp_engine, "parcels")
    report = run(imp_engine, imp_settings, "parcels", path)
    assert (report.changes["updated"], report.changes["unchanged"], report.changes["inserted"]) == (1, 9, 0)
    assert version(imp_engine, "parcels") > before
    table = get_layer("parcels").table
    with imp_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(table.c.area_m2 == 999.5)).scalar() == 1
