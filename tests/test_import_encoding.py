"""Vietnamese text survives Windows-1258 DBFs and lying .cpg files; text whose letters
were already destroyed to '?' is rejected with that reason, not loaded as garbage."""
from __future__ import annotations

import numpy as np
import sqlalchemy as sa

from gisdb.importing.encoding import detect_dbf
from import_support import clear, imp_engine, imp_settings, points_lonlat, run, write_points  # noqa: F401
from layers.registry import get_layer

NAMES = ["Ngã tư Hùng Vương", "Nút giao Điện Biên Phủ", "Cầu Rồng", "Phường Hải Châu"]


def _names(engine) -> dict[str, str]:
    table = get_layer("intersections").table
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(table.c.node_code, table.c.name)).all())


def _write_1258(tmp_path, cpg: str | None):
    lon, lat = points_lonlat(len(NAMES))
    codes = np.array([f"E{i}" for i in range(len(NAMES))], dtype=object)
    path = write_points(tmp_path / "nut_1258.shp", lon, lat, {"node_code": codes, "name": np.array(NAMES, dtype=object)},
                        driver="ESRI Shapefile", encoding="cp1258")
    cpg_path = path.with_suffix(".cpg")
    if cpg is None:
        cpg_path.unlink(missing_ok=True)
    else:
        cpg_path.write_text(cpg)
    return path


def test_windows_1258_dbf_with_a_lying_cpg(imp_engine, imp_settings, tmp_path):
    clear(imp_engine, "intersections")
    path = _write_1258(tmp_path, "UTF-8")
    assert detect_dbf(path).name == "cp1258"
    report = run(imp_engine, imp_settings, "intersections", path)
    assert report.encoding == "cp1258" and report.loaded == len(NAMES)
    assert any(".cpg says utf-8" in w for w in report.warnings)
    assert sorted(_names(imp_engine).values()) == sorted(NAMES)     # every letter, last one too


def test_windows_1258_without_cpg_and_with_encoding_option(imp_engine, imp_settings, tmp_path):
    clear(imp_engine, "intersections")
    path = _write_1258(tmp_path, None)
    report = run(imp_engine, imp_settings, "intersections", path, encoding="1258")
    assert report.encoding == "cp1258"
    assert sorted(_names(imp_engine).values()) == sorted(NAMES)


def test_utf8_dbf_with_a_cpg_that_says_1258(imp_engine, imp_settings, tmp_path):
    clear(imp_engine, "intersections")
    lon, lat = points_lonlat(2)
    path = write_points(tmp_path / "u.shp", lon, lat, {"node_code": np.array(["U1", "U2"], dtype=object),
                                                       "name": np.array(NAMES[:2], dtype=object)},
                        driver="ESRI Shapefile", encoding="UTF-8")
    path.with_suffix(".cpg").write_text("1258")
    report = run(imp_engine, imp_settings, "intersections", path)
    assert report.encoding == "utf-8"
    assert sorted(_names(imp_engine).values()) == sorted(NAMES[:2])


def test_letters_lost_to_question_marks_are_rejected(imp_engine, imp_settings, tmp_path):
    clear(imp_engine, "intersections")
    path = tmp_path / "lost.geojson"
    path.write_text('{"type":"FeatureCollection","features":['
                    '{"type":"Feature","properties":{"node_code":"Q1","name":"Ph??ng H?i Ch?u"},'
                    '"geometry":{"type":"Point","coordinates":[108.22,16.06]}},'
                    '{"type":"Feature","properties":{"node_code":"Q2","name":"Phường Hải Châu?"},'
                    '"geometry":{"type":"Point","coordinates":[108.21,16.05]}}]}', encoding="utf-8")
    report = run(imp_engine, imp_settings, "intersections", path)
    assert (report.loaded, report.rejected) == (1, 1)
    assert report.reasons == {"text_lost_letters": 1}
    assert report.details == {"text_lost_letters:name": 1}
    assert _names(imp_engine) == {"Q2": "Phường Hải Châu?"}
