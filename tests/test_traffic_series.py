"""The live traffic data, read side: a station's counts by hour, day and week in the
city's time zone (JSON and CSV), the traffic of a ward and its road segments, ETags that
follow the counts' data version, and every odd request a JSON 4xx."""
from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from layers.sample.traffic import COUNT_HOURS, COUNTS_FROM
from test_hostile_requests import no_server_errors  # noqa: F401 (a fixture)

WEEK = "2026-03-02/2026-03-08"          # the sample's last week, Monday to Sunday (ICT)
HEADER = ["time", "motorbikes", "cars", "trucks", "buses", "total", "avg_speed_kmh"]


@pytest.fixture(scope="module")
def station(engine, sample_city) -> int:
    """The first station of the sample city and its hourly rows."""
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT min(id) FROM traffic.traffic_stations")).scalar()


def _sql_day(engine, station: int, day: str) -> dict:
    """One city day of a station summed directly in SQL, for comparison."""
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(
            "SELECT sum(motorbikes) m, sum(cars) c, sum(motorbikes+cars+trucks+buses) t, "
            "round(sum(avg_speed_kmh*(motorbikes+cars+trucks+buses))/sum(motorbikes+cars+trucks+buses), 1) s "
            "FROM traffic.traffic_counts WHERE station_id = :s "
            "AND counted_at >= (CAST(:d AS date)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh') "
            "AND counted_at < ((CAST(:d AS date) + 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh')"),
            {"s": station, "d": day}).mappings().one())


def test_daily_series_sums_the_city_days(client, engine, station):
    resp = client.get(f"/collections/traffic_stations/items/{station}/counts?datetime={WEEK}&step=day")
    assert resp.status_code == 200, resp.data[:300]
    doc = resp.get_json()
    assert doc["station"] == station and doc["step"] == "day"
    assert doc["time_zone"] == "Asia/Ho_Chi_Minh"
    assert [p["time"][:10] for p in doc["series"]] == [f"2026-03-0{d}" for d in range(2, 9)]
    assert all(p["time"].endswith("T00:00:00+07:00") for p in doc["series"])
    monday = doc["series"][0]
    expected = _sql_day(engine, station, "2026-03-02")
    assert (monday["motorbikes"], monday["cars"], monday["total"]) == (expected["m"], expected["c"], expected["t"])
    assert monday["avg_speed_kmh"] == float(expected["s"])
    assert monday["total"] == sum(monday[k] for k in ("motorbikes", "cars", "trucks", "buses"))
    assert doc["series"][5]["total"] < monday["total"]            # Saturday is quieter


def test_hourly_and_weekly_steps(client, station):
    base = f"/collections/traffic_stations/items/{station}/counts"
    hours = client.get(base + "?datetime=2026-03-02&step=hour").get_json()["series"]
    assert len(hours) == 24 and hours[0]["time"] == "2026-03-02T00:00:00+07:00"
    morning, night = hours[8]["total"], hours[3]["total"]
    assert morning > 3 * night                                      # the morning peak
    day = client.get(base + "?datetime=2026-03-02&step=day").get_json()["series"]
    assert day[0]["total"] == sum(h["total"] for h in hours)
    weeks = client.get(base + "?step=week").get_json()
    assert len(weeks["series"]) == 8 and weeks["series"][0]["time"] == COUNTS_FROM.isoformat()
    tet = min(weeks["series"], key=lambda p: p["total"])
    assert tet["time"].startswith("2026-02-16")                     # the Tết week


def test_default_window_is_the_last_eight_weeks(client, station):
    doc = client.get(f"/collections/traffic_stations/items/{station}/counts?step=hour").get_json()
    assert len(doc["series"]) == COUNT_HOURS
    assert doc["datetime"] == "2026-01-12T00:00:00+07:00/2026-03-09T00:00:00+07:00"


def test_instants_and_open_ends(client, station):
    base = f"/collections/traffic_stations/items/{station}/counts?step=hour&datetime="
    one = client.get(base + "2026-03-08T16:00:00Z").get_json()["series"]
    assert [p["time"] for p in one] == ["2026-03-08T23:00:00+07:00"]
    tail = client.get(base + "2026-03-08T20:00:00%2B07:00/..").get_json()["series"]
    assert len(tail) == 4
    assert client.get(base + "2027-01-01/..").get_json()["series"] == []


def test_csv_by_parameter_and_by_accept(client, station):
    path = f"/collections/traffic_stations/items/{station}/counts?datetime={WEEK}"
    for resp in (client.get(path + "&f=csv"), client.get(path, headers={"Accept": "text/csv"})):
        assert resp.status_code == 200
        assert resp.mimetype == "text/csv"
        assert "attachment" in resp.headers["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
        assert rows[0] == HEADER and len(rows) == 8
    as_json = client.get(path).get_json()["series"]
    assert rows[1] == [str(as_json[0][k]) for k in HEADER]


def test_etag_follows_the_counts(client, engine, station):
    path = f"/collections/traffic_stations/items/{station}/counts?datetime={WEEK}"
    first = client.get(path)
    tag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, no-cache"
    assert client.get(path, headers={"If-None-Match": tag}).status_code == 304
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE traffic.traffic_counts SET cars = cars WHERE station_id = :s "
                             "AND counted_at = '2026-03-02T08:00:00+07:00'"), {"s": station})
    again = client.get(path, headers={"If-None-Match": tag})
    assert again.status_code == 200 and again.headers["ETag"] != tag


@pytest.mark.parametrize("query, words", [
    ("step=minute", "step"), ("step=day&step=week", "more than once"), ("colour=red", "unknown"),
    ("datetime=yesterday", "datetime"), ("datetime=2026-03-08/2026-03-01", "before it starts"),
    ("datetime=../..", "datetime"), ("f=xml", "f must be"), ("datetime=9999-12-31", "years"),
    ("datetime=0001-01-01T00:00:00Z/..", "years"),
    ("datetime=2026-03-02%00", "NUL"),
])
def test_bad_series_requests_are_400(client, station, query, words, no_server_errors):
    resp = client.get(f"/collections/traffic_stations/items/{station}/counts?{query}")
    assert resp.status_code == 400, resp.data[:300]
    body = resp.get_json()
    assert set(body) == {"code", "description"} and words in body["description"], body


@pytest.mark.parametrize("station_id", ["999999", "0", "abc", "%D9%A1", "+1", "99999999999999999999"])
def test_unknown_station_is_404(client, station_id, no_server_errors):
    resp = client.get(f"/collections/traffic_stations/items/{station_id}/counts")
    assert resp.status_code == 404, resp.data[:300]
    assert resp.get_json()["code"] == "NotFound"


def _ward_with_stations(engine) -> tuple[str, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(sa.text(
            "SELECT u.code, count(*) FROM land.admin_units u JOIN traffic.traffic_stations s "
            "ON ST_Intersects(u.geom, s.geom) WHERE u.valid_to IS NULL AND u.level IN ('ward','commune') "
            "GROUP BY u.code ORDER BY count(*) DESC, u.code LIMIT 1")).one())


def test_ward_traffic_adds_up_over_its_segments(client, engine, sample_city):
    code, n_stations = _ward_with_stations(engine)
    resp = client.get(f"/query/traffic?ward={code}&datetime={WEEK}&step=day")
    assert resp.status_code == 200, resp.data[:300]
    doc = resp.get_json()
    assert doc["ward"]["code"] == code and doc["ward"]["valid_from"] == "2025-07-01"
    assert len(doc["series"]) == 7
    assert sum(s["stations"] for s in doc["segments"]) == n_stations
    for day, point in enumerate(doc["series"]):
        assert point["total"] == sum(s["series"][day]["total"] for s in doc["segments"])
    assert all(s["segment_code"] and s["name"] for s in doc["segments"] if s["road_id"])
    csv_rows = list(csv.reader(io.StringIO(client.get(
        f"/query/traffic?ward={code}&datetime={WEEK}&f=csv").get_data(as_text=True))))
    assert csv_rows[0][:3] == ["ward_code", "road_id", "segment_code"]
    assert len(csv_rows) == 1 + 7 * (1 + len(doc["segments"]))


def test_ward_is_taken_at_the_interval(client, engine, sample_city):
    """Codes were reused by the 2025 reform: 20242 was Phước Ninh until 30 June 2025 and
    is Hải Châu from 1 July; a code that ended then is a 404 for 2026."""
    with engine.connect() as conn:
        gone = conn.execute(sa.text(
            "SELECT code FROM land.admin_units WHERE level = 'ward' AND valid_to = '2025-07-01' "
            "AND code NOT IN (SELECT code FROM land.admin_units WHERE valid_to IS NULL) "
            "ORDER BY code LIMIT 1")).scalar()
    resp = client.get(f"/query/traffic?ward={gone}&datetime={WEEK}")
    assert resp.status_code == 404 and "2025-07-01" in resp.get_json()["description"]
    before = client.get("/query/traffic?ward=20242&datetime=2025-01-01/2025-01-31").get_json()
    after = client.get(f"/query/traffic?ward=20242&datetime={WEEK}").get_json()
    assert before["ward"]["name"] == "Phường Phước Ninh" and before["ward"]["valid_to"] == "2025-07-01"
    assert after["ward"]["name"] == "Phường Hải Châu" and after["ward"]["valid_to"] is None
    assert before["series"] == [] and after["series"]          # the counts are from 2026


@pytest.mark.parametrize("query, status", [
    ("datetime=2026-03-02/2026-03-08", 400), ("ward=20242", 400), ("ward=99999&datetime=2026-03-02", 404),
    ("ward=%22%3B%20DROP&datetime=2026-03-02", 400), ("ward=20242&datetime=2026-03-02&by=road", 400),
    ("ward=20242&datetime=2026-03-02&step=year", 400), ("ward=20242&datetime=2026-13-02", 400),
])
def test_bad_ward_requests_are_json_4xx(client, sample_city, query, status, no_server_errors):
    resp = client.get("/query/traffic?" + query)
    assert resp.status_code == status, resp.data[:300]
    assert set(resp.get_json()) == {"code", "description"}


def test_counts_are_hourly_in_the_database_too(engine, station):
    """Migration 0008's CHECK: a row off the hour is refused, even from plain SQL (so a
    station's hourly series can be its rows as they are)."""
    with pytest.raises(sa.exc.IntegrityError, match="traffic_counts_on_the_hour"):
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO traffic.traffic_counts (station_id, counted_at, motorbikes, "
                                 "cars, trucks, buses) VALUES (:s, '2026-05-01T08:30:00+07:00', 1, 1, 1, 1)"),
                         {"s": station})
    with engine.begin() as conn:     # on the hour, although 05:30 in a session in India's zone
        conn.execute(sa.text("SET LOCAL TimeZone = 'Asia/Kolkata'"))
        conn.execute(sa.text("INSERT INTO traffic.traffic_counts (station_id, counted_at, motorbikes, "
                             "cars, trucks, buses) VALUES (:s, '2026-05-01T07:00:00+07:00', 1, 1, 1, 1)"),
                     {"s": station})
        conn.execute(sa.text("DELETE FROM traffic.traffic_counts WHERE station_id = :s "
                             "AND counted_at = '2026-05-01T07:00:00+07:00'"), {"s": station})
