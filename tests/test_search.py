"""Search: parcel numbers, streets, wards and projects, ignoring diacritics and case,
ranked, index-backed; on the test city (rolled back) and, through HTTP, the sample city."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from gisdb.errors import InvalidParameter
from layers.registry import ALL_LAYERS, get_layer
from layers.search import parse_parcel_number, search, search_fields
from tests.query_city import qc  # noqa: F401  (fixture)


def _first(conn, q, **kw):
    results = search(conn, q, **kw)["results"]
    assert results, f"nothing found for {q!r}"
    return results[0]


@pytest.mark.parametrize("q", ["que son", "QUE SON THU", "Quế Sơn", "phuong que son"])
def test_ward_names_ignore_diacritics_and_case(qc, q):
    conn, ids = qc
    hit = _first(conn, q)
    assert (hit["layer"], hit["id"], hit["kind"]) == ("admin_units", ids["ward1"], "ward")
    assert hit["label"] == "Phường Quế Sơn Thử" and len(hit["bbox"]) == 4


def test_street_without_diacritics_is_one_grouped_result(qc):
    conn, ids = qc
    results = search(conn, "nguyen thu nghiem")["results"]
    streets = [r for r in results if r["kind"] == "street"]
    assert streets[0]["label"] == "Đường Nguyễn Thử Nghiệm"
    assert [s["label"] for s in streets].count("Đường Nguyễn Thử Nghiệm") == 1
    assert streets[0]["id"] == min(ids["roads"][:2]) and streets[0]["detail"].startswith("2 ")
    # the bbox covers both segments: about 400 m east-west at 16.5 N
    xmin, _, xmax, _ = streets[0]["bbox"]
    assert 0.0035 < xmax - xmin < 0.0040


@pytest.mark.parametrize("q", ["tờ 91 thửa 102", "to 91 thua 102", "thửa 102 tờ 91", "91/102",
                               "Quế Sơn Thử 91/102", "phường quế sơn thử, tờ 91, thửa 102",
                               "QT-W1 91/102"])
def test_parcel_numbers(qc, q):
    conn, ids = qc
    hit = _first(conn, q)
    assert (hit["kind"], hit["id"]) == ("parcel", ids["parcels"][1 * 4 + 2])
    assert hit["label"] == "Thửa 102, tờ 91, Phường Quế Sơn Thử"


def test_parcel_number_in_another_ward_is_not_offered(qc):
    conn, _ = qc
    results = search(conn, "Điện Bàn Thử 91/102")["results"]
    assert not [r for r in results if r["label"].startswith("Thửa 102, tờ 91")]


def test_projects_codes_and_ranking(qc):
    conn, ids = qc
    assert _first(conn, "du an khu do thi")["id"] == ids["project"]
    hit = _first(conn, "qt-b2")
    assert (hit["layer"], hit["label"]) == ("buildings", "QT-B2")
    ranks = [r["rank"] for r in search(conn, "thu", limit=50)["results"]]
    assert ranks == sorted(ranks)
    only = search(conn, "thu", layers=(get_layer("cameras"),))["results"]
    assert only and {r["layer"] for r in only} == {"cameras"}


def test_parse_parcel_number():
    assert parse_parcel_number("to 12 thua 345") == (12, 345, "")
    assert parse_parcel_number("thua 345 to 12") == (12, 345, "")
    assert parse_parcel_number("phuong hai chau, to 12 thua 345") == (12, 345, "hai chau")
    assert parse_parcel_number("20194 12/345") == (12, 345, "20194")
    assert parse_parcel_number("1/2/3") is None and parse_parcel_number("hai chau") is None


@pytest.mark.parametrize("q", ["x'; DROP TABLE land.parcels; --", "%", "_%_", "\\", "' OR 1=1 --",
                               "名字", "a" * 100])
def test_hostile_queries_are_plain_text(qc, q):
    conn, _ = qc
    before = conn.execute(sa.text("SELECT count(*) FROM land.parcels")).scalar_one()
    out = search(conn, q)
    if q in ("%", "_%_", "\\"):
        assert out["results"] == []          # wildcards are escaped, not patterns
    assert conn.execute(sa.text("SELECT count(*) FROM land.parcels")).scalar_one() == before


def test_bad_queries_are_refused(qc):
    conn, _ = qc
    for q, limit in (("", 10), ("   ", 10), ("x" * 101, 10), ("abc", 0), ("abc", 51)):
        with pytest.raises(InvalidParameter):
            search(conn, q, limit=limit)
    assert search(conn, "a")["results"] == []


def test_every_search_field_has_its_fold_index(engine):
    with engine.connect() as conn:
        defs = [r[0] for r in conn.execute(sa.text("SELECT indexdef FROM pg_indexes"))]
    for layer in ALL_LAYERS:
        for field in search_fields(layer):
            wanted = "gin_trgm_ops" if field.kind == "text" else "text_pattern_ops"
            assert any(f" {layer.table_name} " in d and f"fold({field.name})" in d and wanted in d
                       for d in defs), (layer.id, field.name)
    assert any("(sheet_no, parcel_no)" in d for d in defs)


def test_search_plans_use_the_indexes(qc):
    conn, _ = qc
    savepoint = conn.begin_nested()
    try:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        roads = get_layer("roads").table
        expr = sa.func.meta.fold(roads.c.name)
        stmt = sa.select(roads.c.id).where(sa.or_(expr.like("%nguyen%"), expr.op("%>")("nguyen")))
        compiled = stmt.compile(dialect=conn.dialect)
        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + str(compiled),
                                                            compiled.params))
        assert "roads_name_fold_trgm" in plan
    finally:
        savepoint.rollback()


# ---- the sample city through HTTP ----------------------------------------------------

def test_http_search_hai_chau_finds_the_ward(client):
    resp = client.get("/search?q=hai%20chau")
    assert resp.status_code == 200
    results = resp.get_json()["results"]
    assert any(r["layer"] == "admin_units" and "Hải Châu" in r["label"] for r in results[:5])
    assert resp.headers["Access-Control-Allow-Origin"] == "*" and resp.headers.get("ETag")


def test_http_search_street_and_parcel_of_the_sample(client, engine):
    with engine.connect() as conn:
        street = conn.execute(sa.text(
            "SELECT name, unaccent(name) FROM traffic.roads WHERE name <> unaccent(name) "
            "ORDER BY id LIMIT 1")).one()
        parcel = conn.execute(sa.text(
            "SELECT p.id, p.sheet_no, p.parcel_no, u.name FROM land.parcels p "
            "JOIN land.admin_units u ON u.code = p.ward_code ORDER BY p.id LIMIT 1")).one()
    results = client.get("/search", query_string={"q": street[1].lower()}).get_json()["results"]
    assert any(r["kind"] == "street" and r["label"] == street[0] for r in results)
    q = f"{parcel.name} tờ {parcel.sheet_no} thửa {parcel.parcel_no}"
    results = client.get("/search", query_string={"q": q}).get_json()["results"]
    assert results[0]["kind"] == "parcel" and results[0]["id"] == parcel.id


@pytest.mark.parametrize("url", ["/search", "/search?q=", "/search?q=abc&limit=0",
                                 "/search?q=abc&limit=x", "/search?q=abc&bogus=1",
                                 "/search?q=abc&layers=nope"])
def test_http_search_bad_requests(client, url):
    resp = client.get(url)
    assert resp.status_code == 400 and set(resp.get_json()) == {"code", "description"}
