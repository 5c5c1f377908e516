"""A layer's extent has one home (`layers.extent`): exact is the rows' extent, estimated
covers it cheaply (and may be wider); TileJSON, seeding, /collections and the map page all
read it from there."""
from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from geoalchemy2 import Geometry

from layers.extent import Extent, layer_extent, layers_extent, union
from layers.registry import get_layer
from tiles.seed import data_bounds
from tiles.tilejson import layer_bounds
from webmap.map_page import city_view, layer_view

ROOT = Path(__file__).resolve().parents[1]
SHIFT = 0.01          # degrees east: far more than the rounding of the index's boxes
CLOSE = 1e-3


def _per_row_box(conn, layer) -> Extent:
    """The extent spelled differently: min/max of each row's own bounds."""
    g = layer.table.c.geom
    row = conn.execute(sa.select(sa.func.min(sa.func.ST_XMin(g)), sa.func.min(sa.func.ST_YMin(g)),
                                 sa.func.max(sa.func.ST_XMax(g)), sa.func.max(sa.func.ST_YMax(g)))).one()
    return Extent(*row)


def _wards_centroid(conn) -> tuple[float, float]:
    """PostGIS's own centroid of the current wards' box (what the map centred on before)."""
    t = get_layer("admin_units").table
    centre = sa.func.ST_Centroid(sa.func.ST_Extent(t.c.geom))
    row = conn.execute(sa.select(sa.func.ST_Y(centre), sa.func.ST_X(centre))
                       .where(t.c.level.in_(("ward", "commune")), t.c.valid_to.is_(None))).one()
    assert row[0] is not None, "the sample city has current wards"
    return round(row[0], 5), round(row[1], 5)


def test_exact_extent_is_the_data_extent(engine, sample_city):
    layer = get_layer("parcels")
    with engine.connect() as conn:
        exact = layer_extent(conn, layer, estimated=False)
        expected = _per_row_box(conn, layer)
    assert exact == pytest.approx(expected, abs=1e-5)
    assert exact.west < exact.east and exact.south < exact.north
    assert exact.centre == pytest.approx(((exact.south + exact.north) / 2, (exact.west + exact.east) / 2))


def _covers(outer: Extent, inner: Extent) -> bool:
    slack = 1e-5          # the index keeps float4 boxes, rounded outward
    return (outer.west <= inner.west + slack and outer.south <= inner.south + slack
            and outer.east >= inner.east - slack and outer.north >= inner.north - slack)


@contextmanager
def _probe(engine, *, indexed: bool):
    """A copy of the incidents (as a layer-like object) inside a transaction that is rolled
    back: the test's edits, ANALYZE and index never reach the session's database."""
    with engine.connect() as conn, conn.begin() as tx:
        conn.exec_driver_sql("CREATE TABLE traffic.extent_probe AS SELECT id, geom FROM traffic.incidents")
        if indexed:
            conn.exec_driver_sql("CREATE INDEX ON traffic.extent_probe USING gist (geom)")
        table = sa.Table("extent_probe", sa.MetaData(), sa.Column("id", sa.BigInteger),
                         sa.Column("geom", Geometry("POINT", 4326)), schema="traffic")
        yield conn, SimpleNamespace(table=table)
        tx.rollback()


def test_estimated_extent_needs_an_index_or_statistics(engine, sample_city):
    with _probe(engine, indexed=False) as (conn, probe):
        exact = layer_extent(conn, probe, estimated=False)
        assert exact == layer_extent(conn, get_layer("incidents"), estimated=False)
        assert layer_extent(conn, probe, estimated=True) is None
        conn.exec_driver_sql("ANALYZE traffic.extent_probe")
        # from statistics PostGIS trims far outliers (the sample's outlying villages) out of
        # its box: the estimate lies within the data's box (to its histogram's rounding)
        estimate = layer_extent(conn, probe, estimated=True)
        grown = Extent(exact.west - CLOSE, exact.south - CLOSE, exact.east + CLOSE, exact.north + CLOSE)
        assert estimate is not None and _covers(grown, estimate)


def test_estimated_extent_covers_the_data_and_lags_moves(engine, sample_city):
    """Moving every row east: the exact extent moves with the rows; the estimated one
    (PostGIS reads the spatial index's root boxes) grows to cover the new positions but
    still covers the old ones until they are vacuumed."""
    with _probe(engine, indexed=True) as (conn, probe):
        before = layer_extent(conn, probe, estimated=True)
        exact = layer_extent(conn, probe, estimated=False)
        assert _covers(before, exact) and before == pytest.approx(exact, abs=CLOSE)
        conn.execute(probe.table.update().values(geom=sa.func.ST_Translate(probe.table.c.geom, SHIFT, 0)))
        moved = layer_extent(conn, probe, estimated=False)
        assert moved.west == pytest.approx(exact.west + SHIFT, abs=1e-9)
        after = layer_extent(conn, probe, estimated=True)
        assert _covers(after, moved) and _covers(after, exact)
        assert after.west < moved.west - SHIFT / 2


def test_exact_extent_of_some_rows_and_of_no_rows(engine, sample_city):
    layer = get_layer("parcels")
    ident = layer.table.c.id
    with engine.connect() as conn:
        some = layer_extent(conn, layer, estimated=False, where=ident <= 3)
        whole = layer_extent(conn, layer, estimated=False)
        assert whole.west <= some.west and some.east <= whole.east
        assert layer_extent(conn, layer, estimated=False, where=ident < 0) is None
        with pytest.raises(ValueError):
            layer_extent(conn, layer, estimated=True, where=ident <= 3)


def test_union_skips_missing_boxes():
    a, b = Extent(1, 2, 3, 4), Extent(0, 3, 2, 5)
    assert union([a, None, b]) == Extent(0, 2, 3, 5)
    assert union([None]) is None


def test_every_caller_reads_the_one_extent(engine, sample_city, client):
    """TileJSON bounds are the estimated union, seeding the exact union, /collections the
    exact extent of a small table, the map's centres the middle of the boxes."""
    layers = [get_layer("parcels"), get_layer("roads")]
    with engine.connect() as conn:
        estimated = layers_extent(conn, layers, estimated=True)
        exact = layers_extent(conn, layers, estimated=False)
        assert layer_bounds(conn, layers) == list(estimated)
        assert data_bounds(conn, layers) == tuple(exact)
        parcels = layer_extent(conn, layers[0], estimated=False)
        assert layer_view(conn, "parcels") == tuple(round(v, 5) for v in
                                                    layer_extent(conn, layers[0], estimated=True).centre)
        assert city_view(conn) == pytest.approx(_wards_centroid(conn), abs=2e-5)
    doc = client.get("/collections/parcels?f=json").get_json()
    assert doc["extent"]["spatial"]["bbox"][0] == [round(v, 7) for v in parcels]


def test_only_layers_extent_measures_a_layer():
    """ST_EstimatedExtent lives in layers/extent.py only; ST_Extent there, in the search,
    whose hits carry the box of a street's segments, and in the import's written extent
    (the box of the rows an import writes, for the rules' refresh): never a layer's extent."""
    found = {name: [] for name in ("ST_EstimatedExtent", "ST_Extent")}
    for package in ("gisdb", "layers", "tiles", "webmap", "scripts"):
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            for name in found:
                if re.search(rf"\b{name}\b", text):
                    found[name].append(path.relative_to(ROOT).as_posix())
    assert found == {"ST_EstimatedExtent": ["layers/extent.py"],
                     "ST_Extent": ["gisdb/importing/apply.py", "layers/extent.py", "layers/search.py"]}
