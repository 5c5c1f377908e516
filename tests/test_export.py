"""`gisdb export`: every format read back with pyogrio, bbox and attribute filters,
VN-2000 output checked against pyproj's EPSG transform, safe filters, atomic files."""
from __future__ import annotations

import io
import zipfile

import pyogrio
import pytest
import shapely
import sqlalchemy as sa
from click.testing import CliRunner
from pyproj import CRS, Transformer

from gisdb.errors import ExportFailed, InvalidFilter, InvalidParameter, NotFound
from gisdb.exporting import ExportOptions, format_for, parse_bbox, short_field_names
from layers.exporting import export_layer, parse_equalities
from layers.land import Parcel

FORMATS = ["gpkg", "geojson", "json", "shp", "zip", "fgb", "csv"]


P = Parcel.__table__.c


def in_bbox(bbox):
    return sa.func.ST_Intersects(P.geom, sa.func.ST_MakeEnvelope(*bbox, 4326))


def db_count(engine, *where) -> int:
    """Parcels matching the conditions, counted by the database (the expected export size)."""
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(Parcel.__table__)
                            .where(*where)).scalar_one()


def read_count(path) -> int:
    target = path
    if path.suffix == ".zip":
        target = f"/vsizip/{path}"
    return pyogrio.read_info(target)["features"]


@pytest.fixture(scope="module")
def parcels(engine, sample_city):
    assert sample_city["parcels"] > 100
    return sample_city["parcels"]


@pytest.fixture(scope="module")
def bbox(engine, parcels):
    """The south-west quarter of the parcels' extent: some parcels, not all."""
    with engine.connect() as conn:
        extent = conn.execute(sa.select(sa.func.ST_XMin(sa.func.ST_Extent(P.geom)),
                                        sa.func.ST_YMin(sa.func.ST_Extent(P.geom)),
                                        sa.func.ST_XMax(sa.func.ST_Extent(P.geom)),
                                        sa.func.ST_YMax(sa.func.ST_Extent(P.geom)))).one()
    west, south, east, north = extent
    return (west, south, (west + east) / 2, (south + north) / 2)


@pytest.mark.parametrize("ext", FORMATS)
def test_each_format_with_bbox(engine, parcels, bbox, tmp_path, ext):
    out = tmp_path / f"parcels.{ext}"
    result = export_layer(engine, "parcels", out, ExportOptions(bbox=bbox, chunk_size=97))
    expected = db_count(engine, in_bbox(bbox))
    assert 0 < expected < parcels
    assert result.features == expected
    assert read_count(out) == expected
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".export-")] == []


def test_every_layer_exports(engine, sample_city, tmp_path):
    from layers.registry import ALL_LAYERS
    for layer in ALL_LAYERS:
        ext = "shp" if layer.id in ("roads", "cameras") else "fgb"
        out = tmp_path / f"{layer.id}.{ext}"
        result = export_layer(engine, layer.id, out)
        info = pyogrio.read_info(out)
        assert result.features == info["features"] == sample_city[layer.id], layer.id
        expected = "Unknown" if layer.geometry_type == "Geometry" else layer.geometry_type   # mixed: GDAL's name
        assert info["geometry_type"].replace("Multi", "") == expected.replace("Multi", "")


def test_geopackage_attributes_and_crs(engine, parcels, tmp_path):
    out = tmp_path / "all.gpkg"
    export_layer(engine, "parcels", out)
    info = pyogrio.read_info(out)
    assert info["features"] == parcels
    assert info["crs"] == "EPSG:4326" and info["geometry_type"] == "MultiPolygon"
    assert {"id", "ward_code", "sheet_no", "parcel_no", "area_m2", "land_use",
            "certificate_no", "updated_at"} <= set(info["fields"])
    df = pyogrio.read_dataframe(out, where="id = (SELECT min(id) FROM parcels)")
    with engine.connect() as conn:
        row = conn.execute(sa.select(P.id, P.ward_code, P.area_m2, P.address)
                           .order_by(P.id).limit(1)).one()
    assert int(df["id"][0]) == row.id and df["ward_code"][0] == row.ward_code
    assert df["area_m2"][0] == pytest.approx(float(row.area_m2))
    assert (df["address"][0] or None) == row.address


def test_shapefile_names_and_vietnamese_text(engine, parcels, bbox, tmp_path):
    out = tmp_path / "parcels.shp"
    result = export_layer(engine, "parcels", out, ExportOptions(bbox=bbox))
    assert result.renamed_fields == {"certificate_no": "certificat"}
    assert (tmp_path / "parcels.cpg").read_text().strip().upper() in ("UTF-8", "UTF8")
    df = pyogrio.read_dataframe(out)
    assert all(len(c) <= 10 for c in df.columns)
    with engine.connect() as conn:
        addresses = set(conn.execute(sa.select(P.address).where(
            P.address.is_not(None), in_bbox(bbox))).scalars())
    written = set(df["address"].dropna()) - {""}
    assert written == addresses
    assert any(ch in "".join(written) for ch in "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")
    # the zipped variant holds the same parts
    zipped = tmp_path / "parcels_zip.zip"
    export_layer(engine, "parcels", zipped, ExportOptions(bbox=bbox))
    names = set(zipfile.ZipFile(zipped).namelist())
    assert {"parcels_zip.shp", "parcels_zip.shx", "parcels_zip.dbf", "parcels_zip.prj",
            "parcels_zip.cpg"} <= names


@pytest.mark.parametrize("ext,code", [("gpkg", 5899), ("fgb", 5899), ("shp", 5899),
                                      ("gpkg", 9216)])
def test_vn2000_output_matches_pyproj(engine, parcels, bbox, tmp_path, ext, code):
    """EPSG:9216 (VN-2000 / TM-3 107-30) is not shipped in PostGIS's spatial_ref_sys: it
    is registered from PROJ by its EPSG code and must get the same datum shift."""
    out = tmp_path / f"vn2000.{ext}"
    result = export_layer(engine, "parcels", out,
                          ExportOptions(srs=f"EPSG:{code}", bbox=bbox))
    assert result.srid == code
    info = pyogrio.read_info(out)
    assert CRS.from_user_input(info["crs"]).to_epsg() == code
    df = pyogrio.read_dataframe(out)
    with engine.connect() as conn:
        first = sa.func.ST_PointN(sa.func.ST_ExteriorRing(sa.func.ST_GeometryN(P.geom, 1)), 1)
        rows = conn.execute(sa.select(P.id, sa.func.ST_X(first).label("lon"),
                                      sa.func.ST_Y(first).label("lat"))
                            .where(in_bbox(bbox)).order_by(P.id).limit(5)).all()
    to_vn2000 = Transformer.from_crs("EPSG:4326", f"EPSG:{code}", always_xy=True)
    by_id = dict(zip(df["id"].astype(int), df.geometry))
    for row in rows:
        east, north = to_vn2000.transform(row.lon, row.lat)
        x, y = shapely.get_coordinates(by_id[row.id])[0]   # Shapefiles read back single parts
        assert abs(x - east) < 1.0 and abs(y - north) < 1.0, (x, y, east, north)
        assert 500_000 < x < 600_000 and 1_760_000 < y < 1_790_000   # Da Nang in TM-3


def test_bbox_in_vn2000(engine, parcels, bbox, tmp_path):
    to_vn2000 = Transformer.from_crs("EPSG:4326", "EPSG:5899", always_xy=True)
    minx, miny = to_vn2000.transform(bbox[0], bbox[1])
    maxx, maxy = to_vn2000.transform(bbox[2], bbox[3])
    out = tmp_path / "vn.geojson"
    result = export_layer(engine, "parcels", out, ExportOptions(
        bbox=(minx, miny, maxx, maxy), bbox_crs="EPSG:5899"))
    expected = db_count(engine, in_bbox(bbox))
    assert abs(result.features - expected) <= max(2, expected // 50)  # edges differ slightly


def test_equality_filters_are_bound(engine, parcels, tmp_path):
    with engine.connect() as conn:
        land_use = conn.execute(sa.select(P.land_use).group_by(P.land_use)
                                .order_by(sa.func.count().desc()).limit(1)).scalar_one()
    out = tmp_path / "odt.fgb"
    result = export_layer(engine, "parcels", out, equals=parse_equalities([f"land_use={land_use}"]))
    assert result.features == db_count(engine, P.land_use == land_use) > 0
    assert read_count(out) == result.features
    hostile = "ODT'; DROP TABLE land.parcels; --"
    out2 = tmp_path / "hostile.csv"
    result = export_layer(engine, "parcels", out2, equals={"land_use": hostile})
    assert result.features == 0 and read_count(out2) == 0
    assert db_count(engine) == parcels
    with pytest.raises(InvalidParameter):
        export_layer(engine, "parcels", tmp_path / "x.csv", equals={"sheet_no": "1 OR 1=1"})
    with pytest.raises(InvalidParameter):
        export_layer(engine, "parcels", tmp_path / "x.csv", equals={"geom_3857": "x"})
    with pytest.raises(InvalidParameter):
        parse_equalities(["land_use"])
    assert not (tmp_path / "x.csv").exists()


def test_cql2_where(engine, parcels, tmp_path):
    out = tmp_path / "cql.gpkg"
    result = export_layer(engine, "parcels", out,
                          filter_text="area_m2 > 200 AND land_use IN ('ODT', 'TMD')")
    assert result.features == db_count(
        engine, P.area_m2 > 200, P.land_use.in_(["ODT", "TMD"])) == read_count(out)
    with pytest.raises(InvalidFilter):
        export_layer(engine, "parcels", tmp_path / "bad.gpkg",
                     filter_text="land_use = 'x' OR 1=1; DROP TABLE land.parcels")
    with pytest.raises(InvalidFilter):
        export_layer(engine, "parcels", tmp_path / "bad.gpkg", filter_text="secret_column = 1")
    assert db_count(engine) == parcels and not (tmp_path / "bad.gpkg").exists()


def test_clear_errors(engine, parcels, bbox, tmp_path):
    with pytest.raises(NotFound):
        export_layer(engine, "no_such_layer", tmp_path / "x.gpkg")
    with pytest.raises(InvalidParameter, match="extension"):
        format_for(tmp_path / "x.kml")
    with pytest.raises(InvalidParameter, match="EPSG"):
        export_layer(engine, "parcels", tmp_path / "x.gpkg", ExportOptions(srs="+proj=longlat"))
    with pytest.raises(InvalidParameter):
        export_layer(engine, "parcels", tmp_path / "x.gpkg", ExportOptions(srs="EPSG:999999"))
    with pytest.raises(InvalidParameter):
        export_layer(engine, "parcels", tmp_path / "x.gpkg",
                     ExportOptions(bbox=bbox, bbox_crs="EPSG:999999"))
    with pytest.raises(InvalidParameter):
        export_layer(engine, "parcels", tmp_path / "missing" / "x.gpkg")
    for bad in ["1,2,3", "a,b,c,d", "5,5,1,1", "nan,1,2,3"]:
        with pytest.raises(InvalidParameter):
            parse_bbox(bad)
    existing = tmp_path / "exists.gpkg"
    existing.write_bytes(b"keep me")
    with pytest.raises(InvalidParameter, match="exists"):
        export_layer(engine, "parcels", existing)
    assert existing.read_bytes() == b"keep me"
    assert list(tmp_path.glob(".export-*")) == []


def test_failed_export_leaves_no_file(engine, parcels, tmp_path):
    out = tmp_path / "half.gpkg"
    out.write_bytes(b"previous export")
    calls = []

    def failing_progress(done, total):
        calls.append(done)
        if done > 0:
            raise RuntimeError("disk pulled out")
    with pytest.raises(RuntimeError, match="disk pulled out"):
        export_layer(engine, "parcels", out, ExportOptions(chunk_size=50, overwrite=True),
                     progress=failing_progress)
    assert calls[:2] == [0, 50]
    assert out.read_bytes() == b"previous export"
    assert list(tmp_path.iterdir()) == [out]


def test_gdal_write_error_is_clear(engine, parcels, tmp_path, monkeypatch):
    def broken_writer(*args, **kwargs):
        raise pyogrio.errors.DataSourceError("No space left on device\nmore detail")
    monkeypatch.setattr(pyogrio, "write_arrow", broken_writer)
    out = tmp_path / "full.fgb"
    with pytest.raises(ExportFailed, match="full.fgb.*No space left on device"):
        export_layer(engine, "parcels", out)
    assert list(tmp_path.iterdir()) == []


def test_short_field_names_unique():
    names = ["certificate_no", "certificate_date", "Certificat", "a"]
    short = short_field_names(names, 10)
    assert all(len(v) <= 10 for v in short.values())
    assert len({v.lower() for v in short.values()}) == 4 and short["a"] == "a"


def test_progress_plain_lines_and_terminal_bar():
    from scripts.progress import ProgressReporter

    class Stream(io.StringIO):
        def __init__(self, tty):
            super().__init__()
            self.tty = tty

        def isatty(self):
            return self.tty
    plain = Stream(False)
    with ProgressReporter("export x", unit="features", stream=plain, interval_s=3600) as report:
        for done in (0, 10, 20, 30):
            report(done, 30)
    assert plain.getvalue().splitlines() == ["export x: 0/30 features (0%)",
                                             "export x: 30/30 features (100%)"]
    tty = Stream(True)
    with ProgressReporter("export x", unit="features", stream=tty) as report:
        report(0, 30)
        report(30, 30)
    assert "30/30" in tty.getvalue() and "\r" in tty.getvalue()   # a redrawn tqdm bar


def test_cli(engine, settings, parcels, bbox, tmp_path, monkeypatch):
    from scripts.cli import main
    monkeypatch.setenv("GISDB_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    out = tmp_path / "cli.gpkg"
    bbox_text = ",".join(map(str, bbox))
    result = runner.invoke(main, ["export", "parcels", str(out), "--bbox", bbox_text,
                                  "--srs", "EPSG:5899", "--chunk-size", "100"])
    assert result.exit_code == 0, result.output
    expected = db_count(engine, in_bbox(bbox))
    assert f"wrote {expected} features" in result.output and "EPSG:5899" in result.output
    assert f"export parcels: {expected}/{expected} features (100%)" in result.output
    assert read_count(out) == expected
    result = runner.invoke(main, ["export", "parcels", str(tmp_path / "x.csv"),
                                  "--eq", "address=x'); DELETE FROM land.parcels; --"])
    assert result.exit_code == 0 and "wrote 0 features" in result.output
    result = runner.invoke(main, ["export", "nowhere", str(tmp_path / "y.csv")])
    assert result.exit_code == 1 and "NotFound" in result.output
    result = runner.invoke(main, ["export", "parcels", str(tmp_path / "y.xlsx")])
    assert result.exit_code == 1 and "extension" in result.output
    assert "Traceback" not in result.output and db_count(engine) == parcels



def test_cli_help_lists_every_format():
    from gisdb.exporting import FORMATS
    from scripts.export_command import EXTENSIONS
    assert EXTENSIONS == ", ".join(sorted(FORMATS))
