"""The draw-to-count panel's server side: `/query/within` with `breakdown` (counts per
land use / use / road class) and `wards` (the part of each ward inside the shape, in
EPSG:5899 m², not the whole ward), checked against direct PostGIS queries."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from layers.registry import get_layer


@pytest.fixture(scope="module")
def shape(engine, app) -> dict:
    """A 1.6 km square around the middle of the sample city's parcels: it crosses ward
    boundaries but holds no ward whole."""
    t = get_layer("parcels").table
    with engine.connect() as conn:
        lon, lat = conn.execute(sa.select(sa.func.ST_X(sa.func.ST_Centroid(sa.func.ST_Extent(t.c.geom))),
                                          sa.func.ST_Y(sa.func.ST_Centroid(sa.func.ST_Extent(t.c.geom))))).one()
    d = 0.0075
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]
    return {"type": "Polygon", "coordinates": [ring]}


def _post(client, body: dict, query: str = ""):
    return client.post("/query/within" + query, data=json.dumps(body),
                       headers={"Content-Type": "application/json"})


def test_breakdown_adds_up_to_the_counts_and_matches_the_database(client, shape, engine):
    resp = _post(client, {"geometry": shape, "layers": ["parcels", "buildings", "roads", "permits"],
                          "breakdown": True})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    layers = {row["layer"]: row for row in resp.get_json()["layers"]}
    assert "breakdown" not in layers["permits"]           # no categories to break down by
    poly = sa.func.ST_SetSRID(sa.func.ST_GeomFromGeoJSON(json.dumps(shape)), 4326)
    for layer_id, field in (("parcels", "land_use"), ("buildings", "use"), ("roads", "road_class")):
        row = layers[layer_id]
        assert row["breakdown_field"] == field
        assert sum(b["count"] for b in row["breakdown"]) == row["count"] > 0
        t = get_layer(layer_id).table
        with engine.connect() as conn:
            direct = dict(conn.execute(sa.select(t.c[field], sa.func.count())
                                       .where(sa.func.ST_Intersects(t.c.geom, poly))
                                       .group_by(t.c[field])).all())
        assert {b["value"]: b["count"] for b in row["breakdown"]} == direct


def test_ward_parts_are_the_intersection_in_epsg_5899(client, shape, engine):
    resp = _post(client, {"geometry": shape, "layers": ["parcels"], "wards": True})
    wards = resp.get_json()["wards"]
    assert len(wards) >= 2
    units = get_layer("admin_units").table
    poly = sa.func.ST_SetSRID(sa.func.ST_GeomFromGeoJSON(json.dumps(shape)), 4326)
    today = dt.date.today()
    with engine.connect() as conn:
        shape_m2 = conn.execute(sa.select(sa.func.ST_Area(sa.func.ST_Transform(poly, 5899)))).scalar()
        direct = dict(conn.execute(sa.select(units.c.code, sa.func.ST_Area(sa.func.ST_Transform(
            sa.func.ST_Intersection(units.c.geom, poly), 5899)))
            .where(units.c.level.in_(("ward", "commune")), units.c.valid_from <= today,
                   sa.or_(units.c.valid_to.is_(None), units.c.valid_to > today),
                   sa.func.ST_Intersects(units.c.geom, poly))).all())
    assert {w["code"] for w in wards} == set(direct)
    for w in wards:
        assert w["inside_m2"] == pytest.approx(direct[w["code"]], rel=1e-3, abs=1)
        assert w["inside_m2"] < w["area_m2"]               # the part, not the whole ward
        assert w["share"] == pytest.approx(w["inside_m2"] / w["area_m2"], abs=1e-4)
    # the parts tile the shape where the wards cover it
    assert sum(w["inside_m2"] for w in wards) <= shape_m2 * 1.001


@pytest.mark.parametrize("query, body_extra", [
    ("?breakdown=maybe", {}),
    ("", {"wards": "sometimes"}),
    ("?wards=1&bogus=1", {}),
])
def test_bad_options_are_a_json_400(client, shape, query, body_extra):
    resp = _post(client, {"geometry": shape, **body_extra}, query)
    assert resp.status_code == 400
    body = resp.get_json()
    assert set(body) >= {"code", "description"}
    assert "Traceback" not in body["description"] and "SELECT" not in body["description"]


def test_export_lists_the_features_inside_as_csv_and_xlsx(client, shape):
    import csv
    import io

    from openpyxl import load_workbook
    body = {"geometry": shape, "layers": ["parcels", "buildings", "roads"]}
    counts = {row["layer"]: row["count"] for row in _post(client, body).get_json()["layers"]}
    resp = _post(client, body, "?f=csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    per_layer: dict = {}
    for row in rows:
        per_layer[row["layer"]] = per_layer.get(row["layer"], 0) + 1
    assert per_layer == {k: v for k, v in counts.items() if v}
    assert all(float(r["inside"]) >= 0 for r in rows if r["layer"] != "permits")
    resp = _post(client, {**body, "wards": True}, "?f=xlsx")
    assert resp.status_code == 200
    book = load_workbook(io.BytesIO(resp.data))
    assert {"features", "layers", "breakdown", "wards"} <= set(book.sheetnames)
    assert book["features"].max_row - 2 == len(rows)      # the titles, the header, the rows
    assert [c.value for c in book["features"][2]] == ["layer", "id", "label", "category", "inside"]


def test_export_of_a_bad_request_is_a_json_400(client, shape):
    resp = _post(client, {"geometry": shape}, "?f=pdf")
    assert resp.status_code == 400 and "f must be" in resp.get_json()["description"]
    resp = _post(client, {"geometry": {"type": "Point", "coordinates": [108.2, 16.0]}}, "?f=csv")
    assert resp.status_code == 400 and resp.is_json
