"""VN-2000 done right: positions after import match pyproj's EPSG transformation within
1 m (no proj4 detour, which would put them ~200 m off), a bare ESRI .prj is matched and
flagged as a guess, and data in the wrong CRS stops with the likely CRS named."""
from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from pyproj import CRS, Geod, Transformer

from gisdb.errors import ImportFailed
from import_support import clear, count, imp_engine, imp_settings, points_lonlat, run, write_points  # noqa: F401
from layers.registry import get_layer

GEOD = Geod(ellps="WGS84")
# An ESRI-style .prj as Vietnamese GIS software writes it: own names, no TOWGS84.
ESRI_PRJ = ('PROJCS["VN2000_DaNang_KTT107_45_mui3",GEOGCS["GCS_VN_2000",DATUM["D_Vietnam_2000",'
            'SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],'
            'UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
            'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
            'PARAMETER["Central_Meridian",107.75],PARAMETER["Scale_Factor",0.9999],'
            'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]')


def _positions(engine) -> dict[str, tuple[float, float]]:
    table = get_layer("intersections").table
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.node_code, sa.func.ST_X(table.c.geom), sa.func.ST_Y(table.c.geom)))
        return {code: (x, y) for code, x, y in rows}


def _write_projected(tmp_path, epsg: int, n: int = 25, prj: str | None = None):
    """A shapefile of points in VN-2000 metres; returns it with the metres written."""
    lon, lat = points_lonlat(n)
    x, y = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True).transform(lon, lat)
    codes = np.array([f"VN{epsg}-{i}" for i in range(n)], dtype=object)
    path = write_points(tmp_path / f"nut_{epsg}.shp", x, y, {"node_code": codes}, crs=f"EPSG:{epsg}",
                        driver="ESRI Shapefile")
    if prj is not None:
        path.with_suffix(".prj").write_text(prj)
    return path, codes, x, y


def _max_error_m(engine, epsg: int, codes, x, y) -> float:
    expected = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True).transform(x, y)
    got = _positions(engine)
    worst = 0.0
    for code, ex, ey in zip(codes, *expected):
        gx, gy = got[code]
        worst = max(worst, GEOD.inv(ex, ey, gx, gy)[2])
    return worst


@pytest.mark.filterwarnings("ignore:You will likely lose important projection information")
@pytest.mark.parametrize("epsg", [5899, 5898])
def test_vn2000_tm3_matches_pyproj_epsg_transform(imp_engine, imp_settings, tmp_path, epsg):
    clear(imp_engine, "intersections")
    path, codes, x, y = _write_projected(tmp_path, epsg)
    report = run(imp_engine, imp_settings, "intersections", path, srs=f"EPSG:{epsg}")
    assert report.loaded == len(codes)
    assert _max_error_m(imp_engine, epsg, codes, x, y) < 1.0
    # the proj4 route would be far off: make sure the test can tell the difference
    p4 = Transformer.from_crs(CRS.from_proj4(CRS.from_epsg(epsg).to_proj4()), "EPSG:4326", always_xy=True)
    ex, ey = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True).transform(x[0], y[0])
    px, py = p4.transform(x[0], y[0])
    assert GEOD.inv(ex, ey, px, py)[2] > 100


def test_esri_prj_without_towgs84_is_matched_and_flagged(imp_engine, imp_settings, tmp_path):
    clear(imp_engine, "intersections")
    path, codes, x, y = _write_projected(tmp_path, 5899, prj=ESRI_PRJ)
    report = run(imp_engine, imp_settings, "intersections", path)
    assert report.crs["source"] == "prj" and report.crs["guessed"] is True
    assert "5899" in report.crs["crs"] and report.crs["confidence"] < 100
    assert any("guessed" in w for w in report.warnings)
    assert _max_error_m(imp_engine, 5899, codes, x, y) < 1.0


def test_metres_without_prj_name_the_likely_crs(imp_engine, imp_settings, tmp_path):
    clear(imp_engine, "intersections")
    path, codes, x, y = _write_projected(tmp_path, 5899)
    path.with_suffix(".prj").unlink()
    with pytest.raises(ImportFailed, match=r"EPSG:5899"):
        run(imp_engine, imp_settings, "intersections", path)
    assert count(imp_engine, "intersections") == 0


def test_swapped_latitude_longitude_stop_the_import(imp_engine, imp_settings, tmp_path):
    lon, lat = points_lonlat(10)
    path = tmp_path / "swapped.csv"
    lines = ["node_code,lon,lat"] + [f"S{i},{b:.6f},{a:.6f}" for i, (a, b) in enumerate(zip(lon, lat))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match="swapped"):
        run(imp_engine, imp_settings, "intersections", path)
