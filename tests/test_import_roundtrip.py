"""The project's own exports come back unchanged: every layer, exported in every format
(GeoPackage, Shapefile, GeoJSON, FlatGeobuf, CSV) and CRS (EPSG:4326, EPSG:5899), then
re-imported with `--mode upsert`, inserts nothing and updates nothing, although ring
order, rounding and VN-2000's float noise make the geometries differ below a millimetre;
a 2 mm move is still an update. Shapefile's shortened field names need no mapping."""
from __future__ import annotations

import pyogrio
import pytest
import shapely
import sqlalchemy as sa
from click.testing import CliRunner
from pyproj import Transformer

from fresh_databases import migrated_database
from gisdb.engine import make_engine
from gisdb.exporting import ExportOptions
from gisdb.importing import ImportOptions
from gisdb.versions import table_versions
from layers.exporting import export_layer
from layers.importing import import_layer
from layers.registry import get_layer, is_derived, layer_ids
from scripts.cli import main

FORMATS = (".gpkg", ".shp", ".zip", ".geojson", ".fgb", ".csv")
CRSS = (4326, 5899)


def importable() -> list[str]:
    """Every layer but the derived ones (the violations: read-only, never imported)."""
    return [layer_id for layer_id in layer_ids() if not is_derived(get_layer(layer_id))]


@pytest.fixture(scope="module")
def city(base_settings, tmp_path_factory):
    """A database of its own holding a small sample city (every layer has features)."""
    from layers.sample import load_sample_city
    with migrated_database(base_settings, "gisdb_rt", tmp_path_factory.mktemp("rtdata")) as settings:
        engine = make_engine(settings, pool_size=2)
        counts = load_sample_city(engine, scale=0.1, seed=3)
        assert all(counts[layer] > 0 for layer in importable())
        yield settings, engine, counts
        engine.dispose()


def _versions(engine) -> dict[str, int]:
    names = [get_layer(layer).table_name for layer in importable()]
    with engine.connect() as conn:
        return table_versions(conn, names)


@pytest.mark.parametrize("srid", CRSS)
@pytest.mark.parametrize("ext", FORMATS)
def test_every_layer_round_trips_unchanged(city, tmp_path, ext, srid):
    settings, engine, counts = city
    before = _versions(engine)
    for layer in importable():
        path = tmp_path / f"{layer}{ext}"
        export_layer(engine, layer, path, ExportOptions(srs=f"EPSG:{srid}"))
        srs = f"EPSG:{srid}" if ext == ".csv" else None          # a CSV carries no CRS
        report = import_layer(engine, settings, layer, path, ImportOptions(mode="upsert", srs=srs))
        assert (report.read, report.rejected) == (counts[layer], 0), (layer, report.details)
        assert report.changes["inserted"] == 0 and report.changes["updated"] == 0, (layer, report.changes)
        assert report.changes["unchanged"] == counts[layer]
    assert _versions(engine) == before          # nothing was written, so no data version moved


def _move(path, layer_name: str, dx_by_row: dict[int, float]) -> None:
    """Shift some features of a GeoPackage in EPSG:5899 by dx metres (east)."""
    meta, table = pyogrio.read_arrow(path)
    geoms = shapely.from_wkb(table.column("geom").to_pylist())
    for row, dx in dx_by_row.items():
        geoms[row] = shapely.transform(geoms[row], lambda xy, dx=dx: xy + [dx, 0.0])
    rest = {name: table.column(name).to_numpy(zero_copy_only=False)
            for name in table.column_names if name != "geom"}
    pyogrio.raw.write(path, shapely.to_wkb(geoms), driver="GPKG", geometry_type="MultiPolygon",
                      crs="EPSG:5899", layer=layer_name, field_data=list(rest.values()), fields=list(rest))


def test_two_millimetres_is_an_update_and_half_a_millimetre_is_not(city, tmp_path):
    settings, engine, counts = city
    path = tmp_path / "moved.gpkg"
    export_layer(engine, "buildings", path, ExportOptions(srs="EPSG:5899"))
    _move(path, "buildings", {0: 0.002, 1: 0.0005, 2: -0.0021})
    options = ImportOptions(mode="upsert", dry_run=True)
    report = import_layer(engine, settings, "buildings", path, options)
    assert report.changes["updated"] == 2 and report.changes["unchanged"] == counts["buildings"] - 2
    loose = import_layer(engine, settings, "buildings", path, ImportOptions(dry_run=True, tolerance_m=0.003))
    assert loose.changes["updated"] == 0


def test_ring_order_and_start_vertex_do_not_matter(city, tmp_path):
    """The same parcels with every ring reversed and started at another vertex."""
    settings, engine, counts = city
    table = get_layer("parcels").table
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.ward_code, table.c.sheet_no, table.c.parcel_no,
                                      table.c.area_m2, table.c.land_use,
                                      sa.func.ST_AsBinary(sa.func.ST_Reverse(table.c.geom)))
                            .order_by(table.c.id).limit(50)).all()
    geoms = []
    for *_, wkb in rows:
        polygons = []
        for polygon in shapely.get_parts(shapely.from_wkb(bytes(wkb))):
            ring = shapely.get_coordinates(polygon.exterior)[:-1]
            ring = list(ring[2:]) + list(ring[:2])
            polygons.append(shapely.Polygon(ring))
        geoms.append(shapely.MultiPolygon(polygons))
    fields = {"ward_code": [r[0] for r in rows], "sheet_no": [r[1] for r in rows],
              "parcel_no": [r[2] for r in rows], "area_m2": [float(r[3]) for r in rows],
              "land_use": [r[4] for r in rows]}
    import numpy as np
    path = tmp_path / "rotated.geojson"
    pyogrio.raw.write(path, shapely.to_wkb(np.array(geoms, dtype=object)), driver="GeoJSON",
                      geometry_type="MultiPolygon", crs="EPSG:4326",
                      field_data=[np.array(v, dtype=object) for v in fields.values()], fields=list(fields))
    report = import_layer(engine, settings, "parcels", path, ImportOptions(dry_run=True))
    assert report.changes["unchanged"] == 50 and report.changes["updated"] == 0


def test_shapefile_export_then_import_needs_no_options(city, tmp_path):
    settings, engine, counts = city
    runner = CliRunner()
    env = {"GISDB_DATABASE_URL": settings.database_url, "GISDB_DATA_DIR": str(settings.data_dir)}
    out = tmp_path / "nha.shp"
    result = runner.invoke(main, ["export", "buildings", str(out), "--srs", "EPSG:5899"], env=env)
    assert result.exit_code == 0 and "building_code written as building_c" in result.output
    result = runner.invoke(main, ["import", "buildings", str(out), "--quiet"], env=env)
    assert result.exit_code == 0, result.output
    assert " updated " in result.output and _count_line(result.output, "updated") == 0
    assert _count_line(result.output, "unchanged") == counts["buildings"]
    report = import_layer(engine, settings, "permits", _export(engine, "permits", tmp_path / "gp.zip"),
                          ImportOptions(dry_run=True))
    assert report.mapping["permit_type"] == "permit_typ"          # the shortened names, recognised
    assert report.mapping["permitted_floor_area_m2"] == "permitte_1"
    assert report.changes["unchanged"] == counts["permits"]


def _export(engine, layer: str, path):
    export_layer(engine, layer, path)
    return path


def _count_line(output: str, label: str) -> int:
    line = next(x for x in output.splitlines() if x.strip().startswith(label + " "))
    return int(line.split()[-1].replace(",", ""))


def test_vn2000_point_moved_two_millimetres_north_is_an_update(city, tmp_path):
    """Points (distance is the Hausdorff distance) in the city's VN-2000 grid."""
    settings, engine, counts = city
    path = tmp_path / "cams.fgb"
    export_layer(engine, "cameras", path, ExportOptions(srs="EPSG:5899"))
    meta, table = pyogrio.read_arrow(path)
    gname = meta["geometry_name"] or "wkb_geometry"
    geoms = shapely.from_wkb(table.column(gname).to_pylist())
    geoms[0] = shapely.transform(geoms[0], lambda xy: xy + [0.0, 0.002])
    rest = {n: table.column(n).to_numpy(zero_copy_only=False) for n in table.column_names if n != gname}
    moved = tmp_path / "moved.fgb"
    pyogrio.raw.write(moved, shapely.to_wkb(geoms), driver="FlatGeobuf", geometry_type="Point",
                      crs="EPSG:5899", field_data=list(rest.values()), fields=list(rest))
    report = import_layer(engine, settings, "cameras", moved, ImportOptions(dry_run=True))
    assert report.changes["updated"] == 1 and report.changes["unchanged"] == counts["cameras"] - 1
    x, y = Transformer.from_crs("EPSG:5899", "EPSG:4326", always_xy=True).transform(*geoms[0].coords[0])
    assert 107 < x < 109.2 and 14.8 < y < 16.6
