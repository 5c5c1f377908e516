"""Dangerous input is refused before GDAL opens or anything is extracted: zip-slip,
absolute names, symlinks (in a zip or on disk), zip bombs, oversized files, VRT and
network paths; a corrupt Shapefile is a clear error and loads nothing."""
from __future__ import annotations

import stat
import zipfile
from dataclasses import replace

import pytest

from gisdb.errors import ImportFailed, UnsafeInput
from gisdb.importing.safety import extract_zip_safely, safe_open_path
from import_support import count, imp_engine, imp_settings, run, write_parcels  # noqa: F401


def _zip(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("name", ["../../evil.shp", "/etc/evil.shp", "C:/evil.shp", "a/../../b.shp"])
def test_zip_slip_refused_before_extraction(tmp_path, name):
    archive = _zip(tmp_path / "slip.zip", [("ok.txt", b"x"), (name, b"evil")])
    dest = tmp_path / "out"
    with pytest.raises(UnsafeInput):
        extract_zip_safely(archive, dest)
    assert not dest.exists() or not any(dest.rglob("*"))
    assert not (tmp_path.parent / "evil.shp").exists()


def test_zip_symlink_entry_refused(tmp_path):
    archive = tmp_path / "link.zip"
    info = zipfile.ZipInfo("data.shp")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(UnsafeInput, match="symbolic link"):
        extract_zip_safely(archive, tmp_path / "out")


def test_zip_bomb_refused(tmp_path):
    archive = _zip(tmp_path / "bomb.zip", [("big.csv", b"0" * 50_000_000)])
    with pytest.raises(UnsafeInput, match="zip bomb"):
        extract_zip_safely(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "big.csv").exists()


def test_total_size_limit(tmp_path, imp_settings):
    archive = _zip(tmp_path / "many.zip", [(f"f{i}.csv", bytes(range(256)) * 400) for i in range(5)])
    small = replace(imp_settings, extra={"zip_max_total_bytes": 100_000})
    with pytest.raises(UnsafeInput, match="over the limit"):
        extract_zip_safely(archive, tmp_path / "out", small)


def test_file_size_limit_symlink_vrt_and_network_paths(tmp_path, imp_settings):
    path = write_parcels(tmp_path / "p.geojson", 5, driver="GeoJSON")
    with pytest.raises(UnsafeInput, match="over the limit"):
        safe_open_path(path, replace(imp_settings, extra={"import_max_bytes": 100}))
    link = tmp_path / "link.geojson"
    link.symlink_to(path)
    with pytest.raises(UnsafeInput, match="symbolic link"):
        safe_open_path(link, imp_settings)
    vrt = tmp_path / "x.vrt"
    vrt.write_text("<OGRVRTDataSource/>")
    with pytest.raises(UnsafeInput, match="not accepted"):
        safe_open_path(vrt, imp_settings)
    disguised = tmp_path / "x.geojson"
    disguised.write_text('<OGRVRTDataSource><OGRVRTLayer name="a"><SrcDataSource>/etc/passwd'
                         '</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>')
    with pytest.raises(UnsafeInput, match="not GeoJSON"):
        safe_open_path(disguised, imp_settings)
    for remote in ("/vsicurl/http://example.org/a.geojson", "https://example.org/a.geojson",
                   "//server/share/a.shp", "\\\\server\\share\\a.shp", "PG:dbname=gisdb"):
        with pytest.raises(UnsafeInput, match="not a local file"):
            safe_open_path(remote, imp_settings)


def test_zip_slip_archive_through_the_import(imp_engine, imp_settings, tmp_path):
    archive = _zip(tmp_path / "slip.zip", [("../slip.geojson", b"{}")])
    with pytest.raises(UnsafeInput):
        run(imp_engine, imp_settings, "parcels", archive)
    assert not (tmp_path.parent / "slip.geojson").exists()


def test_corrupt_shapefile_is_a_clear_error_and_loads_nothing(imp_engine, imp_settings, tmp_path):
    before = count(imp_engine, "parcels")
    shp = write_parcels(tmp_path / "hong.shp", 50, driver="ESRI Shapefile")
    data = bytearray(shp.read_bytes())
    shp.write_bytes(bytes(data[:100]) + b"\xff" * 40 + bytes(data[140:len(data) // 2]))  # truncated, garbled
    with pytest.raises(ImportFailed) as err:
        run(imp_engine, imp_settings, "parcels", shp)
    assert "hong.shp" in str(err.value)
    assert count(imp_engine, "parcels") == before
