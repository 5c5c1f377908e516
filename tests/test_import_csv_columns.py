"""A real CSV loads in one pass: geometry columns named by staff (Vietnamese headers, a
line built from two "lat,lng" points) and values chosen per row by `--set` expressions
(a tiny grammar, bound in SQL: no eval, no SQL from the command line)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gisdb.errors import InvalidParameter
from gisdb.importing.set_expressions import parse
from import_support import clear, count, imp_engine, imp_settings, run  # noqa: F401
from layers.registry import get_layer
from scripts.cli import main

ROADS = """Mã đoạn,Tên đường,Tọa độ bắt đầu,Tọa độ kết thúc
VN-001,Đường Bạch Đằng,"16.0700,108.2240","16.0600,108.2250"
VN-002,Kiệt 12 Hùng Vương,"16.0680,108.2150","16.0682,108.2160"
VN-003,Lê Duẩn,"16.0710,108.2100","16.0712,108.2200"
VN-004,Đường cụt,"16.0500,108.2000",
"""
SET_CLASS = "road_class=primary if \"Tên đường\" startswith 'Đường ' else alley if \"Tên đường\" startswith 'Kiệt' else local"


def _roads(engine) -> dict[str, tuple[str, str, float]]:
    t = get_layer("roads").table
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.segment_code, t.c.road_class, sa.func.ST_AsText(t.c.geom),
                                      sa.func.ST_Length(sa.func.geography(t.c.geom))))
        return {code: (cls, wkt, length) for code, cls, wkt, length in rows}


def test_line_from_two_named_point_columns_and_a_class_per_row(imp_engine, imp_settings, tmp_path):
    clear(imp_engine, "roads")
    path = tmp_path / "duong.csv"
    path.write_text(ROADS, encoding="utf-8")
    report = run(imp_engine, imp_settings, "roads", path, srs="EPSG:4326",
                 geometry_columns=("Tọa độ bắt đầu,Tọa độ kết thúc",),
                 maps=("Mã đoạn=segment_code", "Tên đường=name"), sets=(SET_CLASS,))
    assert (report.read, report.loaded, report.rejected) == (4, 3, 1)
    assert report.reasons == {"geometry_unreadable": 1}          # the row missing its end point
    roads = _roads(imp_engine)
    assert {k: v[0] for k, v in roads.items()} == {"VN-001": "primary", "VN-002": "alley", "VN-003": "local"}
    assert roads["VN-001"][1] == "MULTILINESTRING((108.224 16.07,108.225 16.06))"   # lat,lng read in order
    assert 1000 < roads["VN-001"][2] < 1200


def test_the_issue_example_level_by_name(imp_engine, imp_settings, tmp_path):
    """`level` = commune when the name starts with "Xã ", ward otherwise (admin units)."""
    clear(imp_engine, "admin_units")
    box = "POLYGON(({x} 16.0,{y} 16.0,{y} 16.01,{x} 16.01,{x} 16.0))"
    lines = ["code,name,Hình học"] + [f'{code},{name},"{box.format(x=108.1 + i / 100, y=108.105 + i / 100)}"'
                                      for i, (code, name) in enumerate([("20194", "Phường Hải Châu"),
                                                                         ("20333", "Xã Hòa Vang"),
                                                                         ("20334", "Xãx")])]
    path = tmp_path / "donvi.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = run(imp_engine, imp_settings, "admin_units", path, geometry_columns=("Hình học",),
                 sets=("level=commune if name startswith 'Xã ' else ward", "valid_from=2025-07-01"))
    assert report.loaded == 3
    t = get_layer("admin_units").table
    with imp_engine.connect() as conn:
        levels = dict(conn.execute(sa.select(t.c.code, t.c.level)).all())
    assert levels == {"20194": "ward", "20333": "commune", "20334": "ward"}


@pytest.mark.parametrize("text", ["a if b", "a if name like 'x' else b", "a if name = 'x' b",
                                  "a if 'name' = 'x' else b"])
def test_bad_expressions_are_clear_errors(text):
    with pytest.raises(InvalidParameter, match="expected VALUE if FIELD OPERATOR"):
        parse("level", text)


def test_plain_constants_stay_constants():
    assert parse("name", "Nhà văn hóa") is None and parse("name", "Nếu thì") is None
    quoted = parse("name", "'x; DROP TABLE t' if name = ''';--' else y")
    assert quoted.cases[0].result == "x; DROP TABLE t" and quoted.cases[0].literal == "';--"


def test_cli_messages_for_bad_columns_and_fields(imp_engine, imp_settings, tmp_path):
    path = tmp_path / "duong.csv"
    path.write_text(ROADS, encoding="utf-8")
    env = {"GISDB_DATABASE_URL": imp_settings.database_url, "GISDB_DATA_DIR": str(imp_settings.data_dir)}
    runner = CliRunner()
    before = count(imp_engine, "roads")
    result = runner.invoke(main, ["import", "roads", str(path), "--geometry-columns", "Tọa độ giữa",
                                  "--quiet"], env=env)
    assert result.exit_code == 1 and "no column 'Tọa độ giữa'" in result.output
    result = runner.invoke(main, ["import", "roads", str(path), "--geometry-columns",
                                  "Tọa độ bắt đầu,Tọa độ kết thúc", "--map", "Mã đoạn=segment_code",
                                  "--set", "road_class=a if Tên = 'x' else b", "--quiet"], env=env)
    assert result.exit_code == 1 and "has no field 'Tên'" in result.output
    result = runner.invoke(main, ["import", "roads", str(path), "--geometry-columns", "Mã đoạn,Tên đường",
                                  "--quiet"], env=env)
    assert result.exit_code == 1 and "expected two columns of numbers" in result.output
    result = runner.invoke(main, ["import", "roads", str(path), "--tolerance", "-1"], env=env)
    assert result.exit_code == 1 and "--tolerance" in result.output
    assert "Traceback" not in result.output and count(imp_engine, "roads") == before
