"""Shared pieces of the import tests: a database of their own (so imports never disturb
the sample city other tests count), files written on the fly, and a runner."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
import sqlalchemy as sa
from pyproj import Transformer

from fresh_databases import migrated_database
from gisdb.engine import make_engine
from gisdb.importing import FieldMapping, ImportOptions
from gisdb.versions import table_versions
from layers.importing import import_layer
from layers.registry import get_layer


@pytest.fixture(scope="module")
def imp_settings(base_settings, tmp_path_factory):
    """A fresh migrated database for one test module's imports."""
    with migrated_database(base_settings, "gisdb_imp", tmp_path_factory.mktemp("impdata")) as s:
        yield s


@pytest.fixture(scope="module")
def imp_engine(imp_settings):
    engine = make_engine(imp_settings, pool_size=2)
    yield engine
    engine.dispose()


def run(engine, settings, layer, path, **kw):
    """Import with options given as keywords (maps/sets/map_file build the mapping)."""
    mapping = FieldMapping.from_options(kw.pop("maps", ()), kw.pop("sets", ()), kw.pop("map_file", None))
    return import_layer(engine, settings, layer, path, ImportOptions(mapping=mapping, **kw))


def count(engine, layer_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(get_layer(layer_id).table)).scalar_one()


def version(engine, layer_id: str) -> int:
    name = get_layer(layer_id).table_name
    with engine.connect() as conn:
        return table_versions(conn, [name])[name]


def clear(engine, layer_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(get_layer(layer_id).table.delete())


def points_lonlat(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """n points in central Da Nang."""
    rng = np.random.default_rng(seed)
    return rng.uniform(108.16, 108.24, n), rng.uniform(16.01, 16.09, n)


def write_points(path: Path, lon, lat, fields: dict, crs: str = "EPSG:4326", driver: str | None = None,
                 encoding: str | None = None, to_crs: str | None = None) -> Path:
    """Write points (given in lon/lat) with attributes; reprojected with pyproj's EPSG
    transformation when `to_crs` is set."""
    x, y = np.asarray(lon), np.asarray(lat)
    if to_crs:
        x, y = Transformer.from_crs("EPSG:4326", to_crs, always_xy=True).transform(x, y)
        crs = to_crs
    kw = {"encoding": encoding} if encoding else {}
    pyogrio.raw.write(path, shapely.to_wkb(shapely.points(x, y)), driver=driver, geometry_type="Point",
                      crs=crs, field_data=[np.asarray(v, dtype=object) if not isinstance(v, np.ndarray) else v
                                           for v in fields.values()],
                      fields=list(fields), **kw)
    return path


def parcel_fields(n: int, start: int = 1) -> dict:
    return {"ward_code": np.array(["20194"] * n, dtype=object),
            "sheet_no": np.full(n, 12, dtype=np.int32),
            "parcel_no": np.arange(start, start + n, dtype=np.int32),
            "area_m2": np.round(np.linspace(80, 400, n), 1),
            "land_use": np.array(["ODT", "TMD", "CLN"] * (n // 3 + 1), dtype=object)[:n]}


def write_parcels(path: Path, n: int, start: int = 1, driver: str | None = None, size: float = 0.0002,
                  layer: str | None = None, append: bool = False) -> Path:
    lon, lat = points_lonlat(n, seed=start)
    boxes = shapely.box(lon, lat, lon + size, lat + size)
    kw = {"layer": layer} if layer else {}
    pyogrio.raw.write(path, shapely.to_wkb(boxes), driver=driver, geometry_type="Polygon", crs="EPSG:4326",
                      field_data=list(parcel_fields(n, start).values()), fields=list(parcel_fields(n, start)),
                      append=append, **kw)
    return path


def table_schema(engine, schema: str, table: str) -> tuple[list, list]:
    """(indexes, constraints) of a table, as (name, definition) from the catalog, sorted:
    what a bulk load's index drop and rebuild must leave as it was."""
    with engine.connect() as conn:
        indexes = conn.execute(sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :s "
                                       "AND tablename = :t ORDER BY indexname"), {"s": schema, "t": table}).all()
        constraints = conn.execute(sa.text("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                                           "WHERE conrelid = CAST(:q AS regclass) ORDER BY conname"),
                                   {"q": f"{schema}.{table}"}).all()
    return indexes, constraints
