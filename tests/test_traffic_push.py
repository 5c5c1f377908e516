"""The IOC pushes hourly counts: `POST /collections/traffic_stations/items/{id}/counts`
with an edit key, on the write role, in one upsert idempotent on station + hour,
attributed and audited; a bad observation (or credential, or server with writes off)
rejects the whole batch with a JSON 4xx naming what failed, and nothing is written."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from access_fixtures import make_key
from test_hostile_requests import no_server_errors  # noqa: F401 (a fixture)

URL = "/collections/traffic_stations/items/{}/counts"
HOURS = [f"2026-04-01T{h:02d}:00:00+07:00" for h in range(24)]


def _obs(time: str, **kw) -> dict:
    return {"time": time, "motorbikes": 900, "cars": 120, "trucks": 15, "buses": 4,
            "avg_speed_kmh": 35.5, **kw}


@pytest.fixture(scope="module")
def station(engine, sample_city) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT max(id) FROM traffic.traffic_stations")).scalar()


@pytest.fixture(scope="module")
def keys(engine, sample_city) -> dict[str, str]:
    return {"edit": make_key(engine, "ioc", "edit", "traffic_stations"),
            "group": make_key(engine, "ioc-group", "edit", "traffic"),
            "read": make_key(engine, "viewer", "read", "*"),
            "other": make_key(engine, "cadastre", "edit", "parcels")}


def _auth(key: str) -> dict:
    return {"Authorization": "Bearer " + key}


def _rows(engine, station: int) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT counted_at, motorbikes, cars, trucks, buses, avg_speed_kmh FROM traffic.traffic_counts "
            "WHERE station_id = :s ORDER BY counted_at"), {"s": station}).all()


def _post(client, station, body, key, **kw):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(URL.format(station), data=data, headers=_auth(key),
                       content_type=kw.pop("content_type", "application/json"), **kw)


def test_a_batch_is_inserted_then_unchanged_then_updated(write_app, engine, station, keys):
    client = write_app.test_client()
    series = URL.format(station) + "?datetime=2026-04-01&step=day"
    tag = client.get(series).headers["ETag"]
    batch = {"observations": [_obs(t) for t in HOURS]}
    first = client.post(URL.format(station), data=json.dumps(batch), content_type="application/json",
                        headers={**_auth(keys["edit"]), "X-Request-Id": "ioc-42"})
    assert first.status_code == 200, first.data[:300]
    assert first.get_json() == {"station": station, "inserted": 24, "updated": 0, "unchanged": 0}
    assert first.headers["Cache-Control"] == "no-store"
    again = _post(client, station, batch, keys["edit"]).get_json()
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 24)
    batch["observations"][8]["cars"] = 121
    changed = _post(client, station, batch, keys["group"]).get_json()
    assert (changed["inserted"], changed["updated"], changed["unchanged"]) == (0, 1, 23)
    day = client.get(series, headers={"If-None-Match": tag})
    assert day.status_code == 200 and day.headers["ETag"] != tag
    assert day.get_json()["series"][0]["cars"] == 24 * 120 + 1
    with engine.connect() as conn:
        audit = conn.execute(sa.text(
            "SELECT actor, source, action, layer, feature_ids, request_id FROM meta.audit "
            "WHERE layer = 'traffic_counts' ORDER BY id")).all()
    assert len(audit) == 2                              # the unchanged batch wrote nothing
    assert audit[0][1:] == ("api", "counts", "traffic_counts", [station], "ioc-42")
    assert audit[0][0] and audit[1][0] != audit[0][0]    # two keys, two actors


def test_csv_batches_are_taken_too(write_app, engine, station, keys):
    client = write_app.test_client()
    body = ("time,motorbikes,cars,trucks,buses,avg_speed_kmh\n"
            "2026-04-02T00:00:00Z,10,2,1,0,\n2026-04-02T01:00:00Z,11,3,1,0,44.2\n")
    resp = _post(client, station, body, keys["edit"], content_type="text/csv")
    assert resp.status_code == 200, resp.data[:300]
    assert resp.get_json()["inserted"] == 2
    rows = {r[0]: r[1:] for r in _rows(engine, station)}
    assert rows[dt.datetime(2026, 4, 2, tzinfo=dt.timezone.utc)] == (10, 2, 1, 0, None)


def test_writes_off_and_missing_roles_are_refused(client, write_app, engine, station, keys, no_server_errors):
    before = _rows(engine, station)
    batch = {"observations": [_obs("2026-04-03T00:00:00Z")]}
    off = _post(client, station, batch, keys["edit"])
    assert off.status_code == 403 and off.get_json()["code"] == "WritesDisabled"
    on = write_app.test_client()
    anonymous = on.post(URL.format(station), json=batch)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    for key in ("read", "other"):
        resp = _post(on, station, batch, keys[key])
        assert resp.status_code == 403 and resp.get_json()["code"] == "Forbidden", key
    assert _post(on, station, batch, "gdk_not-a-key").status_code == 401
    assert _rows(engine, station) == before


BAD = [
    ({"observations": [_obs(HOURS[0]), _obs("2026-04-05T00:30:00Z")]}, "observations[1].time", "on the hour"),
    ({"observations": [_obs("2026-04-05T00:00:00")]}, "observations[0].time", "RFC 3339"),
    ({"observations": [_obs("5 April 2026, 8 am")]}, "observations[0].time", "RFC 3339"),
    ({"observations": [_obs("2999-01-01T00:00:00Z")]}, "observations[0].time", "future"),
    ({"observations": [_obs(HOURS[0], cars=-1)]}, "observations[0].cars", "negative"),
    ({"observations": [_obs(HOURS[0], cars=1.5)]}, "observations[0].cars", "whole number"),
    ({"observations": [_obs(HOURS[0], cars=True)]}, "observations[0].cars", "whole number"),
    ({"observations": [_obs(HOURS[0], cars="12")]}, "observations[0].cars", "whole number"),
    ({"observations": [_obs(HOURS[0], cars=2**40)]}, "observations[0].cars", "at most"),
    ({"observations": [_obs(HOURS[0], avg_speed_kmh=-3)]}, "avg_speed_kmh", "from 0"),
    ({"observations": [_obs(HOURS[0], avg_speed_kmh="fast")]}, "avg_speed_kmh", "number"),
    ({"observations": [{"time": HOURS[0], "cars": 1, "trucks": 1, "buses": 1}]}, "motorbikes", "required"),
    ({"observations": [_obs(HOURS[0], colour="red")]}, "observations[0].colour", "unknown field"),
    ({"observations": [_obs(HOURS[0]), _obs("2026-03-31T17:00:00Z")]}, "observations[1].time", "same hour"),
    ({"observations": []}, "observations", "non-empty"),
    ({"observations": [{"time": HOURS[0], "motorbikes": 0, "cars": 0, "trucks": 0, "buses": 0}] * 10_001},
     "observations", "at most 10,000"),
    ({"observations": ["x"]}, "observations[0]", "object"),
    ({"observations": [_obs(HOURS[0])], "station": 3}, "unknown member", ""),
    ([_obs(HOURS[0])], "JSON object", ""),
    ("{not json", "not valid JSON", ""),
    ("[" * 5000 + "]" * 5000, "", ""),
]


@pytest.mark.parametrize("body, where, words", BAD, ids=[f"bad{i:02d}" for i in range(len(BAD))])
def test_a_bad_observation_rejects_the_batch(write_app, engine, station, keys, body, where, words,
                                             no_server_errors):
    before = _rows(engine, station)
    resp = _post(write_app.test_client(), station, body, keys["edit"])
    assert resp.status_code in (400, 413), resp.data[:300]
    doc = resp.get_json()
    assert {"code", "description"} <= set(doc)
    assert where in doc["description"] and words in doc["description"], doc
    if doc["code"] == "InvalidObservation":                # names the field and the rule
        assert where in doc["field"] and doc["rule"], doc
    assert _rows(engine, station) == before


@pytest.mark.parametrize("path, body, ctype, status", [
    ("999999", {"observations": [_obs(HOURS[0])]}, "application/json", 404),
    ("x1", {"observations": [_obs(HOURS[0])]}, "application/json", 404),
    (None, "<xml/>", "application/xml", 415),
    (None, "time,colour\n2026-04-01T00:00:00Z,red\n", "text/csv", 400),
    (None, "time,motorbikes,cars,trucks,buses\n2026-04-01T00:00:00Z,1,2,3\n", "text/csv", 400),
    (None, b"time,motorbikes\n\xff\xfe", "text/csv", 400),
])
def test_odd_posts_are_json_4xx(write_app, station, keys, path, body, ctype, status, no_server_errors):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    resp = write_app.test_client().post(URL.format(path or station), data=data, content_type=ctype,
                                        headers=_auth(keys["edit"]))
    assert resp.status_code == status, resp.data[:300]
    assert {"code", "description"} <= set(resp.get_json())


def test_a_year_of_hours_in_csv_and_the_series_cap(write_app, engine, station, keys, no_server_errors):
    """Two CSV batches of 5,001 hours (a year fits in one CSV batch under the body limit);
    an hourly series over both is more than 10,000 points: a 400, a daily one is fine."""
    client = write_app.test_client()
    header = "time,motorbikes,cars,trucks,buses,avg_speed_kmh\n"
    start = 1_700_000_000 // 3600 * 3600          # 2023-11-14T22:00Z
    for part in range(2):
        lines = [dt.datetime.fromtimestamp(start + 3600 * (part * 5001 + i), dt.timezone.utc)
                 .strftime("%Y-%m-%dT%H:%M:%SZ") + ",100,20,3,1,40.0" for i in range(5001)]
        resp = _post(client, station, header + "\n".join(lines) + "\n", keys["edit"], content_type="text/csv")
        assert resp.status_code == 200 and resp.get_json()["inserted"] == 5001, resp.data[:300]
    span = "2023-11-01/2025-01-31"
    hourly = client.get(URL.format(station) + f"?datetime={span}&step=hour")
    assert hourly.status_code == 400 and "10,000" in hourly.get_json()["description"]
    daily = client.get(URL.format(station) + f"?datetime={span}&step=day").get_json()["series"]
    assert sum(p["total"] for p in daily) == 10_002 * 124


def test_the_ioc_creates_an_incident_through_the_write_path(write_app, keys, sample_city):
    """An incident is a feature: POSTed as GeoJSON to the incidents layer with a key that
    holds the edit role on the traffic group, then seen in items and in a vector tile."""
    import mapbox_vector_tile

    from tiles.grid import lonlat_to_tile
    client = write_app.test_client()
    lon, lat = 108.2141, 16.0602
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
               "properties": {"incident_code": "IOC-2026-000001", "occurred_at": "2026-04-01T07:45:00+07:00",
                              "incident_type": "collision", "severity": 2,
                              "description": "Va chạm giữa hai xe máy"}}
    resp = client.post("/collections/incidents/items", data=json.dumps(feature),
                       headers={**_auth(keys["group"]), "Content-Type": "application/geo+json"})
    assert resp.status_code == 201, resp.data[:300]
    location = resp.headers["Location"]
    got = client.get(location).get_json()
    assert got["properties"]["incident_code"] == "IOC-2026-000001"
    listed = client.get("/collections/incidents/items?incident_code=IOC-2026-000001").get_json()
    assert [f["id"] for f in listed["features"]] == [got["id"]]
    x, y = lonlat_to_tile(lon, lat, 16)
    tile = client.get(f"/collections/incidents/tiles/WebMercatorQuad/16/{y}/{x}")
    assert tile.status_code == 200
    codes = {f["properties"]["incident_code"] for f in mapbox_vector_tile.decode(tile.data)["incidents"]["features"]}
    assert "IOC-2026-000001" in codes
    refused = client.post("/collections/incidents/items", data=json.dumps(feature),
                          headers={**_auth(keys["edit"]), "Content-Type": "application/geo+json"})
    assert refused.status_code == 403                 # edit on traffic_stations only

