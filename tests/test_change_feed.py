"""The change feed's pages and tokens (`/collections/{layer}/changes`, `/changes`):
commit order with concurrent writers committing out of start order, exactly once
through the tokens, nothing from a rolled-back transaction, the last version for a
delete, and every bad request a JSON 4xx that names the problem."""
from __future__ import annotations

import base64
import uuid

import pytest
import sqlalchemy as sa

from feed_support import (  # noqa: F401
    add_incident,
    add_parcel,
    committed_changes,
    feed_app,
    feed_client,
    feed_engine,
    feed_settings,
    follow,
)
from gisdb.feed import token as tokens
from gisdb.feed.log import horizon, prune


def _get(client):
    def get(url):
        r = client.get(url)
        return r.status_code, r.get_json()
    return get


def _tip(client) -> str:
    r = client.get("/changes?since=now")
    assert r.status_code == 200 and r.json["changes"] == []
    return r.json["next"]


def test_a_page_gives_each_change_with_its_feature_in_order(feed_client, feed_engine):
    start = _tip(feed_client)
    with feed_engine.begin() as conn:
        fid = add_parcel(conn, 101)
    with feed_engine.begin() as conn:
        conn.execute(sa.text("UPDATE land.parcels SET land_use = 'TMD' WHERE id = :i"), {"i": fid})
    with feed_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM land.parcels WHERE id = :i"), {"i": fid})
    seen, end = follow(_get(feed_client), "/collections/parcels/changes", start, limit=2)
    assert [(c["op"], c["id"]) for c in seen] == [("insert", fid), ("update", fid), ("delete", fid)]
    assert [c["feature"]["properties"]["land_use"] for c in seen] == ["ODT", "TMD", "TMD"]
    assert seen[0]["feature"]["geometry"]["type"] == "MultiPolygon"
    assert seen[0]["source"] == "sql" and seen[0]["at"].endswith("+00:00")
    again = feed_client.get(f"/collections/parcels/changes?since={end}")
    assert again.status_code == 200 and again.json["changes"] == [] and again.json["next"] == end
    assert again.headers["Cache-Control"] == "no-store"
    nxt = [link for link in again.json["links"] if link["rel"] == "next"][0]["href"]
    assert f"since={end}" in nxt


def test_out_of_start_order_commits_are_neither_lost_nor_repeated(feed_client, feed_engine):
    """T1 begins and writes first, T2 begins later, writes and commits; the consumer sees
    T2; then T1 commits and the consumer, following its token, sees T1 once. (Two
    layers: writers of one layer queue on its data version row, so they cannot overlap)."""
    get, start = _get(feed_client), _tip(feed_client)
    feed = "/changes?layers=parcels,incidents"
    t1 = feed_engine.connect()
    tx1 = t1.begin()
    first = add_parcel(t1, 201)
    with feed_engine.begin() as t2:
        second = add_incident(t2, "FEED-202")
    seen, token = follow(get, feed, start)
    assert [(c["layer"], c["id"]) for c in seen] == [("incidents", second)]   # T1 not committed
    tx1.commit()
    t1.close()
    later, token = follow(get, feed, token)
    assert [(c["layer"], c["id"]) for c in later] == [("parcels", first)]
    assert later[0]["change"] < seen[0]["change"]       # identity order is not commit order
    assert follow(get, feed, token)[0] == []
    everything = follow(get, feed, start)[0]
    assert [c["id"] for c in everything] == [second, first]


def test_a_rolled_back_write_leaves_no_event(feed_client, feed_engine):
    start = _tip(feed_client)
    before = committed_changes(feed_engine)
    with feed_engine.connect() as conn:
        tx = conn.begin()
        add_parcel(conn, 301)
        tx.rollback()
    assert committed_changes(feed_engine) == before
    assert follow(_get(feed_client), "/changes?layers=parcels", start)[0] == []


def test_the_cross_layer_feed_filters_layers(feed_client, feed_engine):
    start = _tip(feed_client)
    with feed_engine.begin() as conn:
        fid = add_parcel(conn, 401)
    get = _get(feed_client)
    assert [c["id"] for c in follow(get, "/changes?layers=parcels,buildings", start)[0]] == [fid]
    assert follow(get, "/changes?layers=buildings", start)[0] == []
    assert [c["layer"] for c in follow(get, "/changes", start)[0]] == ["parcels"]


def _epoch(engine) -> uuid.UUID:
    with engine.connect() as conn:
        return horizon(conn).epoch


def _tampered(token: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[8] ^= 1                                   # one bit of the position
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


BAD_QUERIES = ["since=garbage", "since=", "since=" + "A" * 200, "since=%C3%A9t%C3%A9",
               "since=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "limit=0", "limit=abc", "limit=-1",
               "f=html", "bbox=1,2,3,4", "since=now&since=now", "since=%00"]


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_bad_requests_are_json_400(feed_client, query):
    r = feed_client.get("/collections/parcels/changes?" + query)
    assert r.status_code == 400, (query, r.data[:200])
    assert {"code", "description"} <= r.json.keys() and "SELECT" not in r.json["description"]


def test_tampered_or_foreign_tokens_are_refused(feed_client, feed_engine):
    token = _tip(feed_client)
    for bad in (_tampered(token), tokens.encode(tokens.Position(1, 1), uuid.uuid4()), token[:-2]):
        r = feed_client.get(f"/changes?since={bad}")
        assert r.status_code == 400 and r.json["code"] == "InvalidParameterValue", bad
    assert tokens.decode(token, _epoch(feed_engine)) >= tokens.Position(0, 0)


def test_unknown_layers_are_named(feed_client):
    r = feed_client.get("/collections/nope/changes")
    assert r.status_code == 404 and r.json["code"] == "NotFound"
    r = feed_client.get("/changes?layers=parcels,nope")
    assert r.status_code == 400 and "nope" in r.json["description"]
    r = feed_client.get("/changes?layers=parcels&layers=roads")
    assert r.status_code == 400


def test_a_token_from_before_the_retention_cut_is_410(feed_client, feed_engine):
    """Run last in this module: it prunes the feed."""
    old = follow(_get(feed_client), "/changes")[1]
    with feed_engine.begin() as conn:
        first = tokens.decode(old, horizon(conn).epoch)
    assert first.commit_seq > 0
    very_old = tokens.encode(tokens.Position(1, 1), _epoch(feed_engine))
    with feed_engine.begin() as conn:
        add_parcel(conn, 501)
    with feed_engine.begin() as conn:
        cut = prune(conn, conn.execute(sa.text("SELECT clock_timestamp()")).scalar())
    assert cut > first
    r = feed_client.get(f"/changes?since={very_old}")
    assert r.status_code == 410 and r.json["code"] == "TokenExpired"
    assert feed_client.get("/changes").json["changes"] == []     # from the oldest kept
    assert feed_client.get(f"/changes?since={_tip(feed_client)}").status_code == 200
