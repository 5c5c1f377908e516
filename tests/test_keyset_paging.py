"""Deep paging: the `next` links of an items page in id order carry a keyset (`after`
the page's last id), an index seek however deep the page; `offset` keeps working for
clients that send it, and sorted pages still page by offset. Bad `after` values are
JSON 400s."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.dialects import postgresql

from layers.registry import get_layer
from ogc_rows import ogc_app, ogc_client, ogc_counts, ogc_engine, ogc_settings  # noqa: F401
from webmap.api.items_sql import page_statements
from webmap.api.params import parse_items_query

OURS = "filter=building_code LIKE 'OGC-%'"


def page(client, url):
    resp = client.get(url)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return resp.get_json(force=True)


def next_link(doc) -> str | None:
    hrefs = [link["href"] for link in doc["links"] if link["rel"] == "next"]
    return hrefs[0].replace("http://localhost", "") if hrefs else None


def test_keyset_pages_cover_the_layer_once_in_id_order(ogc_client, ogc_counts):
    url, ids = "/collections/buildings/items?limit=70&properties=floors", []
    while url:
        doc = page(ogc_client, url)
        ids += [f["id"] for f in doc["features"]]
        url = next_link(doc)
        if url:
            assert parse_qs(urlsplit(url).query)["after"] == [str(ids[-1])]
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == ogc_counts["buildings"]


def test_offset_still_pages_and_agrees_with_the_keyset(ogc_client):
    first = page(ogc_client, f"/collections/buildings/items?limit=30&{OURS}")
    by_key = page(ogc_client, next_link(first))
    by_offset = page(ogc_client, f"/collections/buildings/items?limit=30&offset=30&{OURS}")
    assert [f["id"] for f in by_key["features"]] == [f["id"] for f in by_offset["features"]]
    assert len(by_key["features"]) == 30
    assert by_key["numberMatched"] == first["numberMatched"]      # the count ignores the key
    assert "prev" in {link["rel"] for link in by_offset["links"]}


def test_sorted_pages_keep_offset_links(ogc_client):
    doc = page(ogc_client, f"/collections/buildings/items?limit=10&sortby=-floors&{OURS}")
    query = parse_qs(urlsplit(next_link(doc)).query)
    assert query["offset"] == ["10"] and "after" not in query


def test_html_next_link_is_a_keyset(ogc_client):
    resp = ogc_client.get(f"/collections/buildings/items?limit=5&f=html&{OURS}")
    assert resp.status_code == 200 and "after=" in resp.get_data(as_text=True)


@pytest.mark.parametrize("query", ["after=abc", "after=-1", "after=1.5", "after=" + "9" * 5000,
                                   "after=1&offset=10", "after=1&sortby=floors",
                                   "after=1&after=2", "after="])
def test_bad_after_is_a_json_400(ogc_client, query):
    resp = ogc_client.get("/collections/buildings/items?" + query)
    assert resp.status_code == 400, (query, resp.status_code)
    body = json.loads(resp.get_data(as_text=True))
    assert set(body) == {"code", "description"} and "SELECT" not in body["description"]


def test_after_beyond_the_last_id_is_an_empty_page(ogc_client):
    doc = page(ogc_client, f"/collections/buildings/items?after={2 ** 63 - 1}")
    assert doc["features"] == [] and next_link(doc) is None


def _scanned_rows(engine, pairs) -> int:
    """Rows the page statement's plan reads under its Limit (EXPLAIN ANALYZE)."""
    layer = get_layer("buildings")
    stmt, _, values = page_statements(layer, parse_items_query(layer, pairs))
    sql = stmt.compile(dialect=postgresql.psycopg.dialect())
    with engine.connect() as conn:
        plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + sql.string,
                                    {**sql.params, **values}).scalar_one()
    node = plan[0]["Plan"]
    while node.get("Node Type") != "Limit":
        node = node["Plans"][0]
    return node["Plans"][0]["Actual Rows"]


def test_a_deep_keyset_page_reads_only_its_rows(ogc_engine, ogc_client, ogc_counts):
    deep = ogc_counts["buildings"] - 20
    doc = page(ogc_client, f"/collections/buildings/items?limit=1&offset={deep - 1}&properties=floors")
    last = doc["features"][0]["id"]
    by_offset = _scanned_rows(ogc_engine, [("limit", "10"), ("offset", str(deep))])
    by_key = _scanned_rows(ogc_engine, [("limit", "10"), ("after", str(last))])
    assert by_key <= 11 and by_offset >= deep, (by_key, by_offset)
