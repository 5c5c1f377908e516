"""`gisdb import` on real OSM files and on every format staff receive: counts add up,
reasons are right, a second import of the same file changes nothing."""
from __future__ import annotations

import json
import zipfile

import pyogrio
import pytest
import sqlalchemy as sa

from gisdb.errors import InvalidParameter
from import_support import clear, count, imp_engine, imp_settings, run, version, write_parcels, write_points  # noqa: F401
from layers.registry import get_layer

WARD_MAP = dict(maps=("@id=code", "name:vi=name", "name=name", "name:en=name_en"),
                sets=("level=ward", "valid_from=2019-12-01", "valid_to=2025-07-01"))


def test_osm_wards_mixed_geometries_into_admin_units(imp_engine, imp_settings, realdata, tmp_path):
    path = realdata / "osm_danang_wards_pre2025.geojson"
    report = run(imp_engine, imp_settings, "admin_units", path, report_path=tmp_path / "r.json", **WARD_MAP)
    assert report.read == 115
    assert report.read == report.loaded + report.rejected
    assert report.reasons.get("wrong_geometry_type") == 57          # the Point features
    assert report.repairs.get("promoted_to_multi") == 56            # Polygons became MultiPolygons
    assert count(imp_engine, "admin_units") == report.loaded == 58
    saved = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert saved["reasons"]["wrong_geometry_type"] == 57 and saved["status"] == "done"
    rejects = json.loads((tmp_path / "r.rejects.geojson").read_text(encoding="utf-8"))
    assert len(rejects["features"]) == 57
    assert all("wrong_geometry_type" in f["properties"]["_reasons"] for f in rejects["features"])
    with imp_engine.connect() as conn:
        names = conn.execute(sa.select(get_layer("admin_units").table.c.name)).scalars().all()
    assert "Phường Hòa Quý" in names                                # name:vi mapped, Vietnamese intact

    before = version(imp_engine, "admin_units")
    again = run(imp_engine, imp_settings, "admin_units", path, **WARD_MAP)
    assert again.changes["inserted"] == 0 and again.changes["updated"] == 0
    assert again.changes["unchanged"] == 58
    assert version(imp_engine, "admin_units") == before               # nothing rewritten


def test_osm_landuse_into_zoning_with_mapping_file(imp_engine, imp_settings, realdata, tmp_path):
    mapping = {"columns": {"zone_code": "$geom_hash", "planned_use": ["landuse", "natural"]},
               "constants": {"plan_name": "OSM land use"},
               "values": {"planned_use": {"residential": "ODT", "industrial": "SKK", "commercial": "TMD",
                                          "retail": "TMD", "military": "CQP", "forest": "RSX",
                                          "paddy": "LUC", "farmland": "LUC", "aquaculture": "NTS",
                                          "water": "SON", "orchard": "CLN", "cemetery": "DVH",
                                          "religious": "DVH", "education": "DGD", "construction": "BCS"}}}
    map_file = tmp_path / "landuse.json"
    map_file.write_text(json.dumps(mapping), encoding="utf-8")
    report = run(imp_engine, imp_settings, "zoning", realdata / "osm_landuse_danang.geojson",
                 map_file=map_file, dry_run=True)
    assert report.read == 3084 and report.read == report.loaded + report.rejected
    assert report.reasons.get("value_not_allowed", 0) > 0           # grass, meadow, ... have no code
    assert count(imp_engine, "zoning") == 0                          # dry run wrote nothing
    real = run(imp_engine, imp_settings, "zoning", realdata / "osm_landuse_danang.geojson", map_file=map_file)
    assert real.loaded == report.loaded == count(imp_engine, "zoning") > 1000
    assert real.rejected == report.rejected


@pytest.mark.parametrize("driver,suffix", [("GPKG", ".gpkg"), ("FlatGeobuf", ".fgb"), ("GeoJSON", ".geojson")])
def test_formats_load_and_reimport_is_a_no_op(imp_engine, imp_settings, tmp_path, driver, suffix):
    clear(imp_engine, "parcels")
    path = write_parcels(tmp_path / ("p" + suffix), 300, driver=driver)
    first = run(imp_engine, imp_settings, "parcels", path)
    assert (first.loaded, first.rejected, count(imp_engine, "parcels")) == (300, 0, 300)
    before = version(imp_engine, "parcels")
    second = run(imp_engine, imp_settings, "parcels", path)
    assert second.changes["unchanged"] == 300 and version(imp_engine, "parcels") == before


def test_geopackage_table_choice(imp_engine, imp_settings, tmp_path):
    clear(imp_engine, "parcels")
    path = tmp_path / "two.gpkg"
    write_parcels(path, 20, driver="GPKG", layer="a")
    write_parcels(path, 30, start=100, driver="GPKG", layer="b", append=False)
    assert len(pyogrio.list_layers(path)) == 2
    with pytest.raises(InvalidParameter, match="--table"):
        run(imp_engine, imp_settings, "parcels", path)
    report = run(imp_engine, imp_settings, "parcels", path, table="b")
    assert report.loaded == 30 and report.table == "b"


def test_zipped_shapefile(imp_engine, imp_settings, tmp_path):
    clear(imp_engine, "parcels")
    shp = write_parcels(tmp_path / "thua_dat.shp", 40, driver="ESRI Shapefile")
    archive = tmp_path / "thua_dat.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in tmp_path.glob("thua_dat.*"):
            if part.suffix != ".zip":
                zf.write(part, "data/" + part.name)
    report = run(imp_engine, imp_settings, "parcels", archive)
    assert report.format == "ESRI Shapefile" and report.loaded == 40
    assert shp.exists()


def test_csv_latlng_with_bom_and_bad_rows(imp_engine, imp_settings, tmp_path):
    path = tmp_path / "nut_giao.csv"
    path.write_bytes("\ufeffnode_code,name,latlng,signalised\n"
                     "N1,Ngã tư Hùng Vương,\"16.0678, 108.2208\",có\n"
                     "N2,Nút Điện Biên Phủ,\"16.0601,108.1923\",false\n"
                     "N3,Không tọa độ,,true\n"
                     "N4,Sai tọa độ,\"abc, 108.2\",yes\n"
                     "N2,Trùng mã,\"16.07,108.21\",no\n".encode("utf-8"))
    report = run(imp_engine, imp_settings, "intersections", path, report_path=tmp_path / "csv.json")
    assert (report.read, report.loaded, report.rejected) == (5, 2, 3)
    assert report.reasons["duplicate_key"] == 1
    assert report.reasons.get("geometry_missing", 0) + report.reasons.get("geometry_unreadable", 0) == 2
    table = get_layer("intersections").table
    with imp_engine.connect() as conn:
        row = conn.execute(sa.select(table.c.name, table.c.signalised, sa.func.ST_X(table.c.geom),
                                     sa.func.ST_Y(table.c.geom)).where(table.c.node_code == "N1")).one()
    assert row[0] == "Ngã tư Hùng Vương" and row[1] is True
    assert row[2] == pytest.approx(108.2208) and row[3] == pytest.approx(16.0678)


def test_unknown_mapping_names_are_clear_errors(imp_engine, imp_settings, tmp_path):
    path = write_parcels(tmp_path / "p.geojson", 3, driver="GeoJSON")
    with pytest.raises(InvalidParameter, match="no field 'nope'"):
        run(imp_engine, imp_settings, "parcels", path, maps=("nope=address",))
    with pytest.raises(InvalidParameter, match="no column 'nowhere'"):
        run(imp_engine, imp_settings, "parcels", path, maps=("land_use=nowhere",))
    with pytest.raises(InvalidParameter, match="required column.*valid_from"):
        run(imp_engine, imp_settings, "admin_units", path, maps=("ward_code=code", "land_use=name"),
            sets=("level=ward",))


def test_z_values_are_dropped_and_counted(imp_engine, imp_settings, tmp_path):
    clear(imp_engine, "intersections")
    path = tmp_path / "z.geojson"
    path.write_text('{"type":"FeatureCollection","features":['
                    '{"type":"Feature","properties":{"node_code":"Z1"},'
                    '"geometry":{"type":"Point","coordinates":[108.22,16.06,12.5]}},'
                    '{"type":"Feature","properties":{"node_code":"Z2"},'
                    '"geometry":{"type":"MultiPoint","coordinates":[[108.21,16.05]]}}]}', encoding="utf-8")
    report = run(imp_engine, imp_settings, "intersections", path)
    assert report.loaded == 2
    assert report.repairs == {"zm_dropped": 1, "single_from_multi": 1}
    table = get_layer("intersections").table
    with imp_engine.connect() as conn:
        dims = conn.execute(sa.select(sa.func.max(sa.func.ST_NDims(table.c.geom)))).scalar()
    assert dims == 2
