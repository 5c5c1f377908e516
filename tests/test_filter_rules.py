"""One rule book for filters (`layers.filter_rules`): the same filter run through the
feature API (`/items`), the vector tiles and the spatial queries (`/query/near`)
selects the same rows, and a bad one gets the same 400 everywhere (`/query/stats` too).
Also the one bbox parser (`gisdb.bbox`) that items, exports and seeding share."""
from __future__ import annotations

import gzip
from urllib.parse import quote

import mapbox_vector_tile
import pytest

from gisdb import bbox as gbbox
from gisdb.errors import InvalidParameter
from layers import filter_rules
from layers.registry import get_layer
from ogc_rows import GRID, LAT0, LON0, STEP, ogc_app, ogc_client, ogc_counts, ogc_engine, ogc_settings  # noqa: F401
from tiles.grid import tiles_in_bbox

EXTENT = (LON0 - 0.0005, LAT0 - 0.0005, LON0 + GRID * STEP + 0.0005, LAT0 + GRID * STEP + 0.0005)


def q(value: str) -> str:
    return quote(value, safe="")


def items_ids(client, layer: str, params: str) -> set[int]:
    resp = client.get(f"/collections/{layer}/items?limit=10000&properties=&{params}")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    doc = resp.get_json(force=True)
    assert doc["numberMatched"] == doc["numberReturned"]
    return {f["id"] for f in doc["features"]}


def tile_ids(client, layer: str, params: str, z: int = 16) -> set[int]:
    ids: set[int] = set()
    for t in tiles_in_bbox(EXTENT, z):
        resp = client.get(f"/tiles/{layer}/{t.z}/{t.x}/{t.y}.mvt?{params}")
        assert resp.status_code in (200, 204), resp.get_data(as_text=True)[:300]
        body = resp.get_data()
        if resp.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if body:
            for feature in mapbox_vector_tile.decode(body).get(layer, {}).get("features", []):
                ids.add(int(feature["id"]))
    return ids


def near_ids(client, layer: str, params: str) -> set[int]:
    lon, lat = LON0 + GRID * STEP / 2, LAT0 + GRID * STEP / 2
    resp = client.get(f"/query/near?layer={layer}&lon={lon}&lat={lat}&distance=5000&limit=1000"
                      f"&include_geometry=false&{params}")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return {f["id"] for f in resp.get_json()["features"]}


def _5899_point() -> str:
    from pyproj import Transformer
    x, y = Transformer.from_crs(4326, 5899, always_xy=True).transform(LON0 + 0.0002, LAT0 + 0.0002)
    return f"S_INTERSECTS(geometry, POINT({x} {y}))&filter-crs={q('http://www.opengis.net/def/crs/EPSG/0/5899')}"


SAME_ROWS = [
    "filter=" + q("floors > 5"),
    "filter=" + q("use IN ('office', 'mixed') AND floors BETWEEN 2 AND 6"),
    "filter=" + q("S_INTERSECTS(geometry, BBOX(108.2005, 16.0505, 108.2035, 16.0535))"),
    "filter-lang=cql2-json&filter=" + q('{"op": "<", "args": [{"property": "height_m"}, 10]}'),
    "filter=" + _5899_point(),
]


@pytest.mark.parametrize("params", SAME_ROWS)
def test_same_filter_same_rows_everywhere(ogc_client, params):
    expected = items_ids(ogc_client, "buildings", params)
    assert 0 < len(expected) < GRID * GRID
    assert tile_ids(ogc_client, "buildings", params) == expected
    assert near_ids(ogc_client, "buildings", params) == expected


def test_same_datetime_same_rows_in_items_and_tiles(ogc_client):
    params = "datetime=" + q("2020-03-01/2021-01-01")
    expected = items_ids(ogc_client, "permits", params)
    assert 0 < len(expected) < 40
    assert tile_ids(ogc_client, "permits", params) == expected


def test_equality_parameters_agree(ogc_client):
    expected = items_ids(ogc_client, "buildings", "floors=3")
    assert expected
    assert near_ids(ogc_client, "buildings", "floors=3") == expected


SAME_ERRORS = [
    ("filter=" + q("id = 3"), "unknown property 'id'"),
    ("filter=" + q("floors = 'three'"), "floors: 'three' is not a whole number"),
    ("filter=" + q("issued = DATE('2020-01-01')"), "unknown property 'issued'"),
    ("filter=" + "x" * (filter_rules.MAX_FILTER_CHARS + 1), "longer than 20000 characters"),
    ("filter=" + q("floors > 1") + "&filter-crs=EPSG:9999", "filter-crs: unsupported"),
    ("filter=" + q("floors IN (" + ",".join(["1"] * 300) + ")"), "more than 200 terms"),
]


@pytest.mark.parametrize("params,message", SAME_ERRORS)
def test_same_bad_filter_same_error_everywhere(ogc_client, params, message):
    urls = [f"/collections/buildings/items?{params}",
            f"/tiles/buildings/16/52467/29806.mvt?{params}",
            f"/query/stats?layer=buildings&{params}",
            f"/query/near?layer=buildings&lon=108.2&lat=16.05&distance=100&{params}"]
    answers = set()
    for url in urls:
        resp = ogc_client.get(url)
        assert resp.status_code == 400, (url, resp.get_data(as_text=True)[:200])
        doc = resp.get_json(force=True)
        assert message in doc["description"], (url, doc)
        answers.add((doc["code"], doc["description"]))
    assert len(answers) == 1, answers


def test_bad_equality_value_same_wording_as_cql2(ogc_client):
    cql2 = ogc_client.get("/collections/buildings/items?filter=" + q("floors = 'three'")).get_json()
    for url in ("/collections/buildings/items?floors=three", "/query/stats?layer=buildings&floors=three"):
        resp = ogc_client.get(url)
        assert resp.status_code == 400
        assert resp.get_json(force=True) == cql2


def test_the_allow_list_is_the_queryables():
    layer = get_layer("buildings")
    assert set(filter_rules.filter_columns(layer)) == {f.name for f in layer.queryables}
    assert "id" not in filter_rules.filter_columns(layer)


# ---- the one bbox parser ---------------------------------------------------------------

def test_bbox_parser_axis_order_and_errors():
    assert gbbox.parse_bbox("108.2,16.0,108.3,16.1") == (108.2, 16.0, 108.3, 16.1)
    assert gbbox.parse_bbox("16.0,108.2,16.1,108.3", lat_first=True) == (108.2, 16.0, 108.3, 16.1)
    assert gbbox.parse_bbox("1,2,0,3,4,0") == (1, 2, 3, 4)               # 3D: heights dropped
    assert gbbox.parse_bbox("170,-10,-170,10", antimeridian=True) == (170, -10, -170, 10)
    assert gbbox.parse_bbox("500000,1700000,560000,1800000", 5899) == (5e5, 1.7e6, 5.6e5, 1.8e6)
    for bad, kw in [("1,2,3", {}), ("a,b,c,d", {}), ("nan,1,2,3", {}), ("5,5,1,1", {}),
                    ("170,-10,-170,10", {}), ("500000,1,2,3", {}), ("1e309,1,2,3", {}),
                    ("500000,1700000,400000,1800000", {"srid": 5899, "antimeridian": True})]:
        with pytest.raises(InvalidParameter):
            gbbox.parse_bbox(bad, **kw)


def test_exports_and_seeding_use_the_same_parser():
    from gisdb.exporting import parse_bbox as export_parse
    from tiles.seed import parse_bbox as seed_parse
    assert export_parse is gbbox.parse_bbox
    assert seed_parse("108.2,16.0,108.3,16.1") == gbbox.parse_bbox("108.2,16.0,108.3,16.1")
    with pytest.raises(InvalidParameter, match="lower corner"):
        seed_parse("108.3,16.0,108.2,16.1")


def test_storage_srid_is_declared_once():
    """One module-level constant holds the storage SRID (4326), whatever its name."""
    import ast
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    declared = [f"{p.relative_to(root)}:{target.id}"
                for pkg in ("gisdb", "layers", "tiles", "webmap", "scripts")
                for p in sorted((root / pkg).rglob("*.py"))
                for node in ast.parse(p.read_text(encoding="utf-8")).body
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                and node.value.value == 4326
                for target in node.targets if isinstance(target, ast.Name)]
    assert declared == ["gisdb/model.py:STORAGE_SRID"]
