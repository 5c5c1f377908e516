"""What an import tells staff: data that lies elsewhere in a CRS that fits it is located
(not blamed on the CRS), a guessed CRS is said on the console at once, letters lost to
'?' are caught at the end of a word too, and a zero-length line is invalid, not
'outside the region'."""
from __future__ import annotations

import io

import numpy as np
import pytest
from click.testing import CliRunner

from gisdb.errors import ImportFailed
from gisdb.importing import ImportOptions
from gisdb.importing.progress import Progress
from import_support import clear, count, imp_engine, imp_settings, run, write_points  # noqa: F401
from layers.importing import import_layer
from scripts.cli import main
from test_import_crs import ESRI_PRJ, _write_projected


def _hcmc_points(tmp_path, driver: str, suffix: str):
    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(106.62, 106.75, 20), rng.uniform(10.72, 10.85, 20)
    codes = np.array([f"HCM-{i}" for i in range(20)], dtype=object)
    return write_points(tmp_path / f"hcm{suffix}", lon, lat, {"node_code": codes}, driver=driver,
                        to_crs="EPSG:9210")


@pytest.mark.parametrize("driver,suffix", [("GPKG", ".gpkg"), ("ESRI Shapefile", ".shp")])
def test_right_crs_wrong_place_says_where_not_pass_srs(imp_engine, imp_settings, tmp_path, driver, suffix):
    """Real Ho Chi Minh City data in VN-2000 / TM-3 105-45 is stopped, with its place."""
    clear(imp_engine, "intersections")
    path = _hcmc_points(tmp_path, driver, suffix)
    with pytest.raises(ImportFailed) as failed:
        run(imp_engine, imp_settings, "intersections", path)
    message = str(failed.value)
    assert "Hồ Chí Minh" in message and "km south of Da Nang" in message, message
    assert "--srs" not in message
    assert count(imp_engine, "intersections") == 0


def test_wrong_crs_still_names_the_likely_one(imp_engine, imp_settings, tmp_path):
    """Da Nang metres declared as 105-45: that is still a CRS problem, with --srs advice."""
    path, *_ = _write_projected(tmp_path, 5899)
    with pytest.raises(ImportFailed, match=r"pass --srs EPSG:5899"):
        run(imp_engine, imp_settings, "intersections", path, srs="EPSG:9210")


def test_guessed_crs_is_on_the_console_at_once(imp_engine, imp_settings, tmp_path):
    clear(imp_engine, "intersections")
    path, *_ = _write_projected(tmp_path, 5899, prj=ESRI_PRJ)
    console = io.StringIO()
    import_layer(imp_engine, imp_settings, "intersections", path, ImportOptions(dry_run=True),
                 Progress(None, stream=console, enabled=False))
    assert "warning:" in console.getvalue() and "% confidence: guessed" in console.getvalue()


def test_guessed_crs_is_on_the_console_when_the_import_then_fails(imp_engine, imp_settings, tmp_path):
    path, codes, x, y = _write_projected(tmp_path, 5899, prj=ESRI_PRJ)
    outside = write_points(tmp_path / "far.shp", x + 400_000, y, {"node_code": codes}, crs="EPSG:5899",
                           driver="ESRI Shapefile")
    outside.with_suffix(".prj").write_text(ESRI_PRJ)
    env = {"GISDB_DATABASE_URL": imp_settings.database_url, "GISDB_DATA_DIR": str(imp_settings.data_dir)}
    result = CliRunner().invoke(main, ["import", "intersections", str(outside), "--quiet"], env=env)
    assert result.exit_code == 1 and "guessed" in result.output and "ImportFailed" in result.output
    assert "Traceback" not in result.output


def test_question_mark_ending_a_word_is_lost_letters(imp_engine, imp_settings, tmp_path):
    clear(imp_engine, "intersections")
    names = ["B? boi", "Ng? t? Hu?", "Tr??ng h?c", "Bể bơi", "Nút giao 3 ? 4", "Có không?"]
    lon, lat = np.full(len(names), 108.2), np.linspace(16.03, 16.06, len(names))
    path = write_points(tmp_path / "hoi.geojson", lon, lat,
                        {"node_code": [f"Q{i}" for i in range(len(names))], "name": names}, driver="GeoJSON")
    report = run(imp_engine, imp_settings, "intersections", path, dry_run=True)
    assert report.details == {"text_lost_letters:name": 3}
    assert report.loaded == 3


def test_zero_length_line_is_invalid_only(imp_engine, imp_settings, tmp_path):
    clear(imp_engine, "roads")
    path = tmp_path / "zero.csv"
    path.write_text('segment_code,road_class,wkt\n'
                    'Z1,local,"LINESTRING (108.2 16.05, 108.2 16.05)"\n'
                    'Z2,local,"LINESTRING (108.2 16.05, 108.21 16.05)"\n', encoding="utf-8")
    report = run(imp_engine, imp_settings, "roads", path, srs="EPSG:4326", dry_run=True)
    assert report.reasons == {"invalid_geometry_rejected": 1} and report.loaded == 1
