"""The raster catalog: real DEM to COG, small written GeoTIFFs, refusals and atomicity."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import rasterio
import sqlalchemy as sa
from click.testing import CliRunner
from rasterio.transform import from_origin

from gisdb.errors import ImportFailed, InvalidParameter, NotFound, UnsafeInput
from gisdb.rasters import add_raster, get_raster, list_rasters, raster_path, remove_raster


@pytest.fixture
def rsettings(settings, tmp_path):
    """Settings whose raster dir is private to the test."""
    return replace(settings, data_dir=tmp_path / "data")


def write_rgb(path, *, seed=0, width=300, height=200):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 255, size=(3, height, width), dtype=np.uint8)
    profile = {"driver": "GTiff", "width": width, "height": height, "count": 3,
               "dtype": "uint8", "crs": "EPSG:5899",
               "transform": from_origin(540000, 1770000, 10, 10)}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return data


def _names(engine):
    with engine.connect() as conn:
        return [e["name"] for e in list_rasters(conn)]


def test_real_dem_becomes_cog_with_facts(engine, rsettings, realdata):
    src = realdata / "copernicus_dem_danang.tif"
    entry = add_raster(engine, rsettings, "dem_danang", src, title="Copernicus DEM")
    try:
        assert entry["changed"] is True
        assert entry["kind"] == "elevation"
        assert entry["crs"] == "EPSG:4326"
        assert (entry["width"], entry["height"], entry["band_count"]) == (864, 900, 1)
        assert entry["dtype"] == "int16" and entry["nodata"] == -32768
        west, south, east, north = entry["bbox"]
        assert 108.07 < west < 108.09 and 16.11 < north < 16.13 and 108.31 < east < 108.33
        band = entry["stats"]["bands"][0]
        assert -30 <= band["min"] < 0 and 600 < band["max"] <= 700   # README: -25 to 686 m
        path = raster_path(rsettings, entry)
        assert path == rsettings.raster_dir / "dem_danang.tif"
        with rasterio.open(path) as ds:
            assert ds.profile["tiled"] and ds.overviews(1), "a COG has tiles and overviews"
            assert ds.nodata == -32768
            with rasterio.open(src) as orig:
                assert np.array_equal(ds.read(1), orig.read(1)), "lossless conversion"
        # footprint stored as a polygon in EPSG:4326 that contains Da Nang's centre
        with engine.connect() as conn:
            inside = conn.execute(sa.text(
                "SELECT ST_Contains(bounds, ST_SetSRID(ST_MakePoint(108.2, 16.05), 4326)) "
                "AND ST_SRID(bounds) = 4326 FROM meta.rasters WHERE name = :n"),
                {"n": "dem_danang"}).scalar_one()
        assert inside is True
        # the same file again changes nothing
        mtime = path.stat().st_mtime_ns
        again = add_raster(engine, rsettings, "dem_danang", src, title="Copernicus DEM")
        assert again["changed"] is False and again["added_at"] == entry["added_at"]
        assert path.stat().st_mtime_ns == mtime
    finally:
        remove_raster(engine, rsettings, "dem_danang")
    assert not path.exists() and "dem_danang" not in _names(engine)


def test_written_rgb_geotiff_replace_and_remove(engine, rsettings, tmp_path):
    first = tmp_path / "ortho.tif"
    data = write_rgb(first, seed=1)
    entry = add_raster(engine, rsettings, "ortho", first)
    assert entry["kind"] == "image" and entry["crs"] == "EPSG:5899"
    assert entry["band_count"] == 3 and entry["nodata"] is None
    means = [b["mean"] for b in entry["stats"]["bands"]]
    assert means == pytest.approx([float(data[i].mean()) for i in range(3)], abs=1e-3)
    # bounds are reprojected: 540000 E in TM-3 107.75 is east of the meridian
    assert 107.75 < entry["bbox"][0] < entry["bbox"][2] < 108.5

    second = tmp_path / "ortho2.tiff"
    write_rgb(second, seed=2)
    replaced = add_raster(engine, rsettings, "ortho", second, kind="generic", title="v2")
    assert replaced["changed"] and replaced["file_sha256"] != entry["file_sha256"]
    assert replaced["kind"] == "generic" and replaced["title"] == "v2"
    with rasterio.open(raster_path(rsettings, replaced)) as ds:
        assert ds.read(1).mean() == pytest.approx(replaced["stats"]["bands"][0]["mean"], abs=1e-3)
    third = tmp_path / "ortho3.tif"
    write_rgb(third, seed=3)
    assert add_raster(engine, rsettings, "ortho", third)["title"] == "v2"   # title kept
    leftovers = [p.name for p in rsettings.raster_dir.iterdir() if p.name != "ortho.tif"]
    assert leftovers == []

    remove_raster(engine, rsettings, "ortho")
    with engine.connect() as conn, pytest.raises(NotFound):
        get_raster(conn, "ortho")
    with pytest.raises(NotFound):
        remove_raster(engine, rsettings, "ortho")


def test_corrupt_and_truncated_tiffs_register_nothing(engine, rsettings, tmp_path):
    garbage = tmp_path / "broken.tif"
    garbage.write_bytes(b"II*\x00" + b"\x13\x37" * 500)
    with pytest.raises(ImportFailed, match="broken.tif"):
        add_raster(engine, rsettings, "broken", garbage)
    whole = tmp_path / "whole.tif"
    write_rgb(whole, width=600, height=600)
    truncated = tmp_path / "half.tif"
    truncated.write_bytes(whole.read_bytes()[:whole.stat().st_size // 2])
    with pytest.raises(ImportFailed, match="half.tif"):
        add_raster(engine, rsettings, "half", truncated)
    assert not {"broken", "half"} & set(_names(engine))
    assert not rsettings.raster_dir.exists() or list(rsettings.raster_dir.iterdir()) == []


def test_refusals(engine, rsettings, tmp_path):
    good = tmp_path / "ok.tif"
    write_rgb(good, width=20, height=20)
    vrt = tmp_path / "x.vrt"
    vrt.write_text("<VRTDataset rasterXSize='1' rasterYSize='1'></VRTDataset>")
    vrt_named_tif = tmp_path / "sneaky.tif"
    vrt_named_tif.write_text(f"<VRTDataset rasterXSize='20' rasterYSize='20'><VRTRasterBand "
                             f"dataType='Byte' band='1'><SimpleSource><SourceFilename>{good}"
                             f"</SourceFilename></SimpleSource></VRTRasterBand></VRTDataset>")
    link = tmp_path / "link.tif"
    link.symlink_to(good)
    plain = tmp_path / "plain.tif"
    with rasterio.open(plain, "w", driver="GTiff", width=5, height=5, count=1,
                       dtype="uint8") as dst:
        dst.write(np.zeros((1, 5, 5), dtype=np.uint8))
    cases = [
        ("x", vrt, UnsafeInput), ("x", "/vsicurl/http://example.com/a.tif", UnsafeInput),
        ("x", "https://example.com/a.tif", UnsafeInput), ("x", link, UnsafeInput),
        ("x", tmp_path, UnsafeInput), ("x", vrt_named_tif, ImportFailed),
        ("x", plain, ImportFailed), ("x", tmp_path / "missing.tif", ImportFailed),
        ("Bad Name", good, InvalidParameter), ("../up", good, InvalidParameter),
    ]
    for name, path, error in cases:
        with pytest.raises(error):
            add_raster(engine, rsettings, name, path)
    with pytest.raises(InvalidParameter):
        add_raster(engine, rsettings, "ok", good, kind="volcano")
    small = replace(rsettings, extra={"import_max_bytes": 100})
    with pytest.raises(UnsafeInput, match="over the limit"):
        add_raster(engine, small, "ok", good)
    assert "x" not in _names(engine) and "ok" not in _names(engine)


def test_cli_add_list_remove(engine, rsettings, tmp_path, monkeypatch):
    from scripts.cli import main
    src = tmp_path / "small.tif"
    write_rgb(src, width=40, height=30)
    monkeypatch.setenv("GISDB_DATABASE_URL", rsettings.database_url)
    monkeypatch.setenv("GISDB_DATA_DIR", str(rsettings.data_dir))
    runner = CliRunner()
    result = runner.invoke(main, ["raster", "add", "small", str(src), "--title", "Small"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("added") and "image" in result.output
    result = runner.invoke(main, ["raster", "add", "small", str(src), "--title", "Small"])
    assert result.output.startswith("unchanged")
    listed = json.loads(runner.invoke(main, ["raster", "list", "--json"]).output)
    assert [e["name"] for e in listed if e["name"] == "small"] == ["small"]
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"not a tiff at all")
    result = runner.invoke(main, ["raster", "add", "bad", str(bad)])
    assert result.exit_code == 1 and "UnsafeInput" in result.output   # not a TIFF at all
    assert "Traceback" not in result.output
    assert runner.invoke(main, ["raster", "remove", "small"]).exit_code == 0
    result = runner.invoke(main, ["raster", "remove", "small"])
    assert result.exit_code == 1 and "NotFound" in result.output


def test_cli_kinds_match_the_catalog():
    from gisdb.rasters import KINDS
    from scripts.raster_command import KINDS as CLI_KINDS
    assert CLI_KINDS == KINDS
