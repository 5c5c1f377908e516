"""`gisdb edit` and `gisdb audit`: the API's validation, version check and audit from the
shell; and imports attributed like every writer (source `import`, the import's id, the
actor), seen by a trigger through the GUCs and in the one trail."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from edit_support import TESTER, building, layer_digest
from gisdb.crs import crs_from_uri
from gisdb.editing import Batch, parse_change, write_batches
from gisdb.importing import ImportOptions
from layers.importing import import_layer, import_target


@pytest.fixture
def gisdb_cli(settings, monkeypatch):
    from scripts.cli import main
    monkeypatch.setenv("GISDB_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, [str(a) for a in args])


def _made(engine, code: str) -> int:
    target = import_target("buildings")
    change = parse_change("create", building(code), columns=target.column_names, crs=crs_from_uri(None))
    with engine.begin() as conn:
        return write_batches(conn, TESTER, [Batch(target, "create", [change])])[0].feature_id


def _floors(engine, fid):
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT floors FROM construction.buildings WHERE id = :i"),
                            {"i": fid}).scalar()


def test_edit_sets_geometry_deletes_and_audits(engine, gisdb_cli, tmp_path):
    fid = _made(engine, "WR-CLI-1")
    result = gisdb_cli("edit", "buildings", fid, "--set", "floors=6", "--comment", "đo lại", "--actor", "staff")
    assert result.exit_code == 0 and "updated" in result.output, result.output
    assert _floors(engine, fid) == 6
    shape = tmp_path / "shape.geojson"
    shape.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": building("x", lon=108.216)["geometry"]}))
    assert gisdb_cli("edit", "buildings", fid, "--geometry", shape).exit_code == 0
    trail = gisdb_cli("audit", "--actor", "staff", "--json")
    entry = json.loads(trail.output)[0]
    assert (entry["source"], entry["action"], entry["comment"], entry["feature_ids"]) == ("cli", "update", "đo lại", [fid])
    assert gisdb_cli("edit", "buildings", fid, "--delete").exit_code == 0
    assert _floors(engine, fid) is None


@pytest.mark.parametrize("args, words", [
    (("--set", "floors=many"), "floors"),
    (("--set", "colour=red"), "unknown property"),
    (("--geometry", "POINT(108.2 16.0)"), "wrong geometry type"),
    (("--geometry", "POLYGON((106.7 10.7,106.8 10.7,106.8 10.8,106.7 10.7))"), "outside the expected region"),
    (("--delete", "--set", "floors=1"), "--delete takes no"),
])
def test_refused_edits_change_nothing(engine, gisdb_cli, args, words):
    fid = _made(engine, f"WR-CLI-R{abs(hash(args)) % 10_000}")
    before = layer_digest(engine, "buildings")
    result = gisdb_cli("edit", "buildings", fid, *args)
    assert result.exit_code == 1 and words in result.output and "Traceback" not in result.output
    assert layer_digest(engine, "buildings") == before


PROBE = """
CREATE TABLE IF NOT EXISTS public.guc_probe (source text, actor text, import_id text);
CREATE OR REPLACE FUNCTION public.guc_probe() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.guc_probe VALUES (current_setting('gisdb.source', true),
    current_setting('gisdb.actor', true), current_setting('gisdb.import_id', true));
  RETURN NULL;
END $$;
CREATE TRIGGER guc_probe AFTER INSERT OR UPDATE ON construction.projects
  FOR EACH STATEMENT EXECUTE FUNCTION public.guc_probe();
"""


def test_imports_are_attributed(engine, settings, gisdb_cli, tmp_path):
    with engine.begin() as conn:
        conn.exec_driver_sql(PROBE)
    ring = [[108.21, 16.05], [108.211, 16.05], [108.211, 16.051], [108.21, 16.05]]
    src = tmp_path / "projects.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"project_code": "WR-IMP-1", "name": "Dự án thử", "phase": "planning"}}]}))
    try:
        report = import_layer(engine, settings, "projects", src, ImportOptions(user="gis-staff"))
        with engine.connect() as conn:
            probe = conn.execute(sa.text("SELECT source, actor, import_id FROM public.guc_probe")).all()
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER guc_probe ON construction.projects; DROP TABLE public.guc_probe")
    assert probe == [("import", "gis-staff", str(report.import_id))]
    trail = json.loads(gisdb_cli("audit", "--source", "import", "--layer", "projects", "--json").output)
    assert trail[0]["import_id"] == report.import_id and trail[0]["actor"] == "gis-staff"
