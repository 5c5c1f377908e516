"""OGC API - Features Part 1 and 2 over the Flask test client: the conformance-suite
assertions that matter (landing links, OpenAPI parameters, limit and unknown
parameters, paging links, counts, CRS), caching, CORS, gzip and the HTML pages."""
from __future__ import annotations

import datetime as dt
import gzip
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from gisdb.crs import CRS84
from layers.layer import GROUPS
from layers.registry import ALL_LAYERS, get_layer
from ogc_rows import db_count, ogc_app, ogc_client, ogc_counts, ogc_engine, ogc_settings  # noqa: F401

OURS = "filter=building_code LIKE 'OGC-%'"


def get_json(client, url, status=200, **kw):
    resp = client.get(url, **kw)
    assert resp.status_code == status, (url, resp.status_code, resp.get_data(as_text=True)[:300])
    return resp.get_json(force=True)


def rels(doc) -> dict[str, dict]:
    return {l["rel"]: l for l in doc["links"]}


def test_landing_page_links(ogc_client):
    doc = get_json(ogc_client, "/")
    links = rels(doc)
    for rel in ("self", "service-desc", "service-doc", "conformance", "data"):
        assert rel in links, rel
    assert links["service-desc"]["href"].endswith("/api")
    assert links["data"]["href"].endswith("/collections")
    assert {g["id"] for g in doc["groups"]} == set(GROUPS)
    html = ogc_client.get("/", headers={"Accept": "text/html,*/*;q=0.8"})
    assert html.content_type.startswith("text/html")
    assert "buildings" in html.get_data(as_text=True) and "Giao thông" in html.get_data(as_text=True)


def test_json_for_generic_accept_headers(ogc_client):
    for accept in ("*/*", "application/json", "application/geo+json"):
        resp = ogc_client.get("/collections/buildings/items?limit=1", headers={"Accept": accept})
        assert resp.status_code == 200 and resp.content_type == "application/geo+json", accept
    assert ogc_client.get("/?f=xml").status_code == 400


def test_conformance_declares_what_is_implemented(ogc_client):
    classes = get_json(ogc_client, "/conformance")["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter" in classes
    assert not any("ogcapi-features-4" in c for c in classes)     # no transactions


def test_openapi_declares_items_parameters(ogc_client):
    resp = ogc_client.get("/api")
    assert resp.content_type.startswith("application/vnd.oai.openapi+json")
    doc = resp.get_json(force=True)
    assert doc["openapi"].startswith("3.0")
    components = doc["components"]["parameters"]
    for layer in ALL_LAYERS:
        params = doc["paths"][f"/collections/{layer.id}/items"]["get"]["parameters"]
        names = {p.get("name") or components[p["$ref"].rsplit("/", 1)[1]]["name"] for p in params}
        expected = {"bbox", "limit", "offset", "filter", "filter-lang", "crs", "bbox-crs",
                    "sortby", "properties"} | {f.name for f in layer.queryables}
        assert expected <= names, (layer.id, expected - names)
        assert ("datetime" in names) == bool(layer.time_field)
        assert f"/collections/{layer.id}/items/{{featureId}}" in doc["paths"]


def test_collections_and_collection(ogc_client):
    doc = get_json(ogc_client, "/collections")
    ids = [c["id"] for c in doc["collections"]]
    assert ids == [l.id for l in ALL_LAYERS]
    one = get_json(ogc_client, "/collections/buildings")
    assert one["itemType"] == "feature"
    assert one["crs"][0] == CRS84
    assert "http://www.opengis.net/def/crs/EPSG/0/5899" in one["crs"]
    minx, miny, maxx, maxy = one["extent"]["spatial"]["bbox"][0]
    assert minx <= 108.2 and miny <= 16.05 and maxx >= 108.214 and maxy >= 16.064
    permits = get_json(ogc_client, "/collections/permits")
    start, end = permits["extent"]["temporal"]["interval"][0]
    assert start <= "2020-01-01T00:00:00Z" and end >= "2023-03-01"
    assert get_json(ogc_client, "/collections/nowhere", 404)["code"] == "NotFound"


@pytest.mark.parametrize("value", ["unlimited", "-1", "0", "1.5", "abc", ""])
def test_bad_limit_is_400(ogc_client, value):
    body = get_json(ogc_client, f"/collections/buildings/items?limit={value}", 400)
    assert body["code"] == "InvalidParameterValue" and "limit" in body["description"]


@pytest.mark.parametrize("query", ["foo=1", "limit=5&limit=6", "bbox=1,2,3", "bbox=a,b,c,d",
                                   "bbox=108.2,16.1,108.3,16", "bbox=1,2,3,4&bbox-crs=EPSG:9999",
                                   "crs=EPSG:2154", "datetime=2020-01-01", "offset=-1",
                                   "sortby=secret", "properties=secret", "floors=abc",
                                   "filter-lang=cql2-text"])
def test_bad_parameters_are_400(ogc_client, query):
    body = get_json(ogc_client, f"/collections/buildings/items?{query}", 400)
    assert set(body) == {"code", "description"}


def test_limit_is_clamped(ogc_client, ogc_counts):
    doc = get_json(ogc_client, "/collections/buildings/items?limit=50000&properties=floors")
    assert doc["numberReturned"] == min(ogc_counts["buildings"], 10_000)


def test_paging_links_are_consistent(ogc_client, ogc_engine):
    total = db_count(ogc_engine, "buildings", get_layer("buildings").table.c.building_code.like("OGC-%"))
    seen, url, pages = [], f"/collections/buildings/items?limit=40&{OURS}", 0
    while url:
        doc = get_json(ogc_client, url)
        pages += 1
        assert doc["numberReturned"] == len(doc["features"])
        assert doc["numberMatched"] == total
        seen += [f["id"] for f in doc["features"]]
        links = rels(doc)
        assert links["self"]["type"] == "application/geo+json"
        assert "alternate" in links
        url = links["next"]["href"] if "next" in links else None
        if url:         # a keyset: after the page's last id (tests/test_keyset_paging.py)
            query = parse_qs(urlsplit(url).query)
            assert query["after"] == [str(seen[-1])] and query["limit"] == ["40"]
            assert "offset" not in query
            url = url.replace("http://localhost", "")
    assert len(seen) == len(set(seen)) == total and pages == -(-total // 40)


def test_last_full_page_has_no_next(ogc_client, ogc_engine):
    total = db_count(ogc_engine, "buildings", get_layer("buildings").table.c.building_code.like("OGC-%"))
    doc = get_json(ogc_client, f"/collections/buildings/items?limit={total}&{OURS}")
    assert doc["numberReturned"] == total and "next" not in rels(doc)


def test_item_and_missing_item(ogc_client):
    first = get_json(ogc_client, f"/collections/buildings/items?limit=1&{OURS}")["features"][0]
    doc = get_json(ogc_client, f"/collections/buildings/items/{first['id']}")
    assert doc["type"] == "Feature" and doc["id"] == first["id"]
    assert doc["properties"]["building_code"] == first["properties"]["building_code"]
    for bad in ("999999999", "abc", "1;DROP TABLE x", "-5", "99999999999999999999999"):
        body = get_json(ogc_client, f"/collections/buildings/items/{bad}", 404)
        assert body["code"] == "NotFound"


def test_properties_sortby_and_equality(ogc_client):
    doc = get_json(ogc_client, f"/collections/buildings/items?limit=5&properties=floors,use"
                               f"&sortby=-floors,building_code&{OURS}")
    props = [f["properties"] for f in doc["features"]]
    assert all(set(p) == {"id", "floors", "use"} for p in props)
    assert [p["floors"] for p in props] == [9] * 5
    doc = get_json(ogc_client, f"/collections/buildings/items?floors=3&use=office&{OURS}")
    assert doc["features"] and all(f["properties"]["floors"] == 3 and f["properties"]["use"] == "office"
                                   for f in doc["features"])
    asc = get_json(ogc_client, f"/collections/buildings/items?limit=3&sortby=%2Bheight_m&{OURS}")
    assert [f["properties"]["height_m"] for f in asc["features"]] == [3.5, 3.5, 3.5]


ISSUED = [dt.date(2020, 1, 1) + dt.timedelta(days=30 * k) for k in range(40)]


@pytest.mark.parametrize("value,expected", [
    ("2021-01-25", [d for d in ISSUED if d == dt.date(2021, 1, 25)]),
    ("2020-01-01/2020-12-31", [d for d in ISSUED if d.year == 2020]),
    ("../2020-03-01", [d for d in ISSUED if d <= dt.date(2020, 3, 1)]),
    ("2023-01-01/..", [d for d in ISSUED if d >= dt.date(2023, 1, 1)]),
    ("2023-01-01T00:00:00Z/", [d for d in ISSUED if d >= dt.date(2023, 1, 1)])])
def test_datetime(ogc_client, value, expected):
    doc = get_json(ogc_client, f"/collections/permits/items?datetime={value}"
                               f"&filter=permit_no LIKE 'OGC-%'")
    got = [f["properties"]["issued_on"] for f in doc["features"]]
    assert got == [d.isoformat() for d in expected] and expected


def test_crs_axis_order_and_content_crs(ogc_client):
    base = f"/collections/buildings/items?limit=1&{OURS}"
    default = ogc_client.get(base)
    assert default.headers["Content-Crs"] == f"<{CRS84}>"
    lon, lat = default.get_json(force=True)["features"][0]["geometry"]["coordinates"][0][0][0]
    latlon = ogc_client.get(base + "&crs=http://www.opengis.net/def/crs/EPSG/0/4326")
    assert latlon.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/4326>"
    assert latlon.get_json(force=True)["features"][0]["geometry"]["coordinates"][0][0][0] == [lat, lon]
    vn_geometry = get_json(ogc_client, base + "&crs=EPSG:5899")["features"][0]["geometry"]
    assert "crs" not in vn_geometry          # the CRS is the Content-Crs header, not a legacy member
    vn = vn_geometry["coordinates"][0][0][0]
    assert 540_000 < vn[0] < 560_000 and 1_770_000 < vn[1] < 1_790_000      # easting, northing
    vn_geo = get_json(ogc_client, base + "&crs=EPSG:4756")["features"][0]["geometry"]["coordinates"][0][0][0]
    assert abs(vn_geo[0] - lat) < 0.01 and abs(vn_geo[1] - lon) < 0.01
    merc = get_json(ogc_client, base + "&crs=EPSG:3857")["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 12_040_000 < merc[0] < 12_060_000


def test_bbox_crs_variants_select_the_same_rows(ogc_client):
    q = f"/collections/buildings/items?limit=1000&properties=floors&{OURS}&bbox="
    ids = lambda url: {f["id"] for f in get_json(ogc_client, url)["features"]}  # noqa: E731
    crs84 = ids(q + "108.2005,16.0505,108.2035,16.0535")
    assert len(crs84) == 9          # squares 1..3 x 1..3 of the grid
    assert ids(q + "16.0505,108.2005,16.0535,108.2035&bbox-crs=EPSG:4326") == crs84
    from pyproj import Transformer
    tr = Transformer.from_crs(4326, 5899, always_xy=True)
    x0, y0 = tr.transform(108.2005, 16.0505)
    x1, y1 = tr.transform(108.2035, 16.0535)
    assert ids(q + f"{x0},{y0},{x1},{y1}&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/5899") == crs84


def test_etag_304_and_cache_headers(ogc_client, ogc_engine):
    url = f"/collections/buildings/items?limit=3&{OURS}"
    first = ogc_client.get(url)
    tag = first.headers["ETag"]
    assert first.headers["Cache-Control"]
    again = ogc_client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.get_data() == b""
    other = ogc_client.get(url + "&offset=3", headers={"If-None-Match": tag})
    assert other.status_code == 200
    building = get_layer("buildings").table
    import sqlalchemy as sa
    with ogc_engine.begin() as conn:      # an edit changes the layer's version, so the ETag
        conn.execute(sa.update(building).where(building.c.building_code == "OGC-0001")
                     .values(name="Đã sửa"))
    assert ogc_client.get(url, headers={"If-None-Match": tag}).status_code == 200


def test_gzip_stream_and_cors(ogc_client):
    url = f"/collections/buildings/items?limit=200&{OURS}"
    resp = ogc_client.get(url, headers={"Accept-Encoding": "gzip"})
    assert resp.headers["Content-Encoding"] == "gzip"
    doc = json.loads(gzip.decompress(resp.get_data()))
    assert doc["numberReturned"] == 200
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    pre = ogc_client.options(url, headers={"Origin": "https://ioc.danang.gov.vn",
                                           "Access-Control-Request-Method": "GET"})
    assert pre.status_code == 200 and "GET" in pre.headers["Access-Control-Allow-Methods"]
    plain = ogc_client.get(url)
    assert "Content-Encoding" not in plain.headers and plain.get_json(force=True)["numberReturned"] == 200


def test_large_page_streams_from_a_server_side_cursor(ogc_client, ogc_counts):
    resp = ogc_client.get("/collections/buildings/items?limit=5000&properties=floors")
    assert resp.is_streamed
    doc = resp.get_json(force=True)
    assert doc["numberReturned"] == min(5000, ogc_counts["buildings"])


def test_huge_tables_get_no_count_but_keep_paging(ogc_client, monkeypatch):
    from webmap.api import table_state
    monkeypatch.setattr(table_state, "EXACT_COUNT_ROWS", 0)
    monkeypatch.setattr(table_state, "EXACT_COUNT_BYTES_UNANALYSED", 0)
    doc = get_json(ogc_client, f"/collections/buildings/items?limit=50&{OURS}")
    assert "numberMatched" not in doc and doc["numberReturned"] == 50 and "next" in rels(doc)


def test_statement_timeout_is_a_json_503(ogc_settings, ogc_counts):
    from dataclasses import replace

    from webmap.app import create_app
    app = create_app({"TESTING": True, "SETTINGS": replace(ogc_settings, statement_timeout_ms=1)})
    try:
        resp = app.test_client().get("/collections/buildings/items?limit=1000"
                                     "&filter=S_DWITHIN(geometry, POINT(108.2 16.05), 5000)")
        assert resp.status_code == 503
        assert resp.get_json()["code"] in ("Timeout", "DatabaseUnavailable")
        assert "SELECT" not in resp.get_data(as_text=True)
    finally:
        app.extensions["gisdb"].engine.dispose()


def test_html_pages(ogc_client):
    page = ogc_client.get(f"/collections/buildings/items?f=html&limit=5&{OURS}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "/vendor/leaflet/dist/leaflet.js" in text
    assert "OGC-0000" in text and 'rel="next"' in text and "cdn" not in text.lower()
    for url in ("/collections?f=html", "/collections/buildings?f=html", "/conformance?f=html",
                "/api?f=html", "/collections/buildings/queryables?f=html"):
        assert ogc_client.get(url).status_code == 200, url
    first = get_json(ogc_client, f"/collections/buildings/items?limit=1&{OURS}")["features"][0]
    one = ogc_client.get(f"/collections/buildings/items/{first['id']}?f=html")
    assert "Bạch Đằng" in one.get_data(as_text=True)


def test_api_core_is_framework_free():
    from pathlib import Path
    core = Path(__file__).resolve().parents[1] / "webmap" / "api"
    files = sorted(core.glob("*.py"))
    # the core's modules must be there: an empty or moved folder is no pass
    assert {"items.py", "openapi.py"} <= {p.name for p in files}, files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "import flask" not in text and "from flask" not in text, path.name
        assert "werkzeug" not in text, path.name
