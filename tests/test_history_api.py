"""`/collections/{layer}/items/{id}/history` through the web's read role: versions
newest first with their changes, paging, deletes, HTML, ETags, and clear 4xx JSON."""
from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from history_support import BIGGER, add_parcel, attribute
from import_support import imp_engine, imp_settings  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def hist_client(imp_settings):
    from webmap.app import create_app
    app = create_app({"TESTING": True, "SETTINGS": imp_settings})
    yield app.test_client()
    app.extensions["gisdb"].engine.dispose()


@pytest.fixture(scope="module")
def edited(imp_engine) -> dict[str, int]:
    """A parcel inserted, edited twice (attributes, then the geometry) and a deleted one."""
    with imp_engine.begin() as conn:
        kept, gone = add_parcel(conn, 2001), add_parcel(conn, 2002)
    with imp_engine.begin() as conn:
        attribute(conn, actor="lan.nguyen", source="api", request_id="r-1", comment="survey")
        conn.execute(sa.text("UPDATE land.parcels SET land_use = 'TMD', owner_type = 'state' WHERE id = :i"),
                     {"i": kept})
    with imp_engine.begin() as conn:
        conn.execute(sa.text("UPDATE land.parcels SET geom = ST_GeomFromEWKT(:g) WHERE id = :i"),
                     {"i": kept, "g": BIGGER})
        conn.execute(sa.text("DELETE FROM land.parcels WHERE id = :i"), {"i": gone})
    return {"kept": kept, "gone": gone}


def test_versions_newest_first_with_their_changes(hist_client, edited):
    r = hist_client.get(f"/collections/parcels/items/{edited['kept']}/history")
    assert r.status_code == 200 and r.mimetype == "application/json"
    doc = r.get_json()
    assert doc["numberMatched"] == 3 and [v["op"] for v in doc["versions"]] == ["U", "U", "I"]
    geometry, attributes, first = doc["versions"]
    assert set(geometry["changes"]) == {"geom"} and geometry["changes"]["geom"]["changed"]
    assert geometry["changes"]["geom"]["area_delta_m2"] == pytest.approx(11_850, abs=100)   # 0.001° x 0.001° more at 16° N
    assert attributes["changes"] == {"land_use": ["ODT", "TMD"], "owner_type": [None, "state"]}
    assert (attributes["actor"], attributes["source"], attributes["request_id"], attributes["comment"]) == \
        ("lan.nguyen", "api", "r-1", "survey")
    assert first["changes"]["parcel_no"] == [None, 2001] and first["to"] == attributes["from"]
    assert geometry["to"] is None and first["source"] == "sql"


def test_a_deleted_feature_keeps_its_history(hist_client, edited):
    assert hist_client.get(f"/collections/parcels/items/{edited['gone']}").status_code == 404
    doc = hist_client.get(f"/collections/parcels/items/{edited['gone']}/history").get_json()
    assert [v["op"] for v in doc["versions"]] == ["D", "I"]
    assert doc["versions"][0]["from"] == doc["versions"][1]["to"]


def test_paging_links_and_etag(hist_client, edited):
    url = f"/collections/parcels/items/{edited['kept']}/history"
    page = hist_client.get(url + "?limit=1&offset=1").get_json()
    assert page["numberReturned"] == 1 and page["versions"][0]["op"] == "U"
    rels = {link["rel"]: link["href"] for link in page["links"]}
    assert "offset=2" in rels["next"] and "prev" in rels
    first = hist_client.get(url)
    assert first.headers["ETag"]
    assert hist_client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    html = hist_client.get(url + "?f=html")
    assert html.status_code == 200 and html.mimetype == "text/html" and "lan.nguyen" in html.get_data(True)


@pytest.mark.parametrize("path, status", [
    ("/collections/parcels/items/999999999/history", 404),      # never existed
    ("/collections/nosuch/items/1/history", 404),
    ("/collections/parcels/items/1%27%3B--/history", 404),       # not digits
    ("/collections/parcels/items/١/history", 404),
    ("/collections/parcels/items/1/history?limit=abc", 400),
    ("/collections/parcels/items/1/history?limit=0", 400),
    ("/collections/parcels/items/1/history?offset=-1", 400),
    ("/collections/parcels/items/1/history?sortby=x", 400),
    ("/collections/parcels/items/1/history?f=xml", 400),
])
def test_bad_requests_are_json_errors(hist_client, edited, path, status):
    r = hist_client.get(path)
    assert r.status_code == status
    body = r.get_json()
    assert set(body) == {"code", "description"} and "SELECT" not in body["description"]


def test_the_web_role_reads_history_but_cannot_write_it(imp_settings):
    from gisdb.engine import make_engine
    web = make_engine(replace(imp_settings, database_url=imp_settings.web_database_url), pool_size=1)
    try:
        with web.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) >= 0 FROM history.land__parcels")).scalar()
            with pytest.raises(sa.exc.DBAPIError):
                conn.execute(sa.text("DELETE FROM history.changes"))
    finally:
        web.dispose()
