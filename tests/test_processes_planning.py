"""The planning analyses as processes: `check` (the rule catalogue) for a ward
synchronously and for the whole city as a job, `impact` (road widening) and
`ward-report`, each answering what the analysis itself answers; bad inputs are JSON 400s;
and the same analyses from Python (layers.analyst)."""
from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from layers import analyst
from layers.planning.impact import corridor_impact
from layers.planning.reports import ward_report
from layers.planning.rules import RULES
from processes_support import job_count, wait_for


@pytest.fixture(scope="module", autouse=True)
def connected(settings, sample_city):
    """layers.analyst reads the test database."""
    engine = analyst.connect(settings=settings)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def ward(engine, sample_city) -> str:
    """The ward holding the most buildings today."""
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT u.code FROM land.admin_units u JOIN construction.buildings b "
            "ON ST_Intersects(u.geom, ST_PointOnSurface(b.geom)) "
            "WHERE u.level IN ('ward', 'commune') AND u.valid_to IS NULL "
            "GROUP BY u.code ORDER BY count(*) DESC LIMIT 1")).scalar_one()


def _counts(engine, ward: str | None) -> dict[str, int]:
    with engine.connect() as conn:
        return {rule_id: conn.execute(sa.select(sa.func.count()).select_from(
            rule.select(ward).subquery())).scalar_one() for rule_id, rule in RULES.items()}


def _run(client, process: str, inputs: dict, headers: dict | None = None):
    return client.post(f"/processes/{process}/execution", json={"inputs": inputs},
                       headers=headers or {})


def test_check_of_a_ward_runs_synchronously(client, engine, ward):
    resp = _run(client, "check", {"ward": ward})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    result = resp.get_json()
    expected = _counts(engine, ward)
    assert {r["rule_id"]: r["count"] for r in result["rules"]} == expected
    assert len(result["features"]["features"]) == sum(expected.values())
    assert sum(expected.values()) > 0
    one = _run(client, "check", {"ward": ward, "rules": ["zoning_floors"],
                                 "include_geometry": False}).get_json()
    assert [r["rule_id"] for r in one["rules"]] == ["zoning_floors"]
    assert all(f["geometry"] is None for f in one["features"]["features"])


def test_a_whole_city_check_is_a_job(client, engine):
    resp = _run(client, "check", {"rules": ["no_permit", "zoning_floors"]})
    assert resp.status_code == 201
    status = wait_for(client, urlsplit(resp.headers["Location"]).path, timeout=120)
    assert status["status"] == "successful" and status["progress"] == 100
    result = client.get(urlsplit(resp.headers["Location"]).path + "/results").get_json()["result"]
    expected = _counts(engine, None)
    assert {r["rule_id"]: r["count"] for r in result["rules"]} == \
        {k: expected[k] for k in ("no_permit", "zoning_floors")}


@pytest.mark.parametrize("process,inputs", [
    ("check", {"rules": ["not_a_rule"]}), ("check", {"ward": "x'; DROP"}),
    ("check", {"rules": "zoning_floors"}), ("check", {"include_geometry": "yes"}),
    ("impact", {}), ("impact", {"road": 1}), ("impact", {"road": 1, "width": -3}),
    ("impact", {"road": 1, "width": 30, "corridor": {"type": "Polygon", "coordinates": []}}),
    ("ward-report", {}), ("ward-report", {"code": 5}), ("ward-report", {"code": "x", "level": "city"}),
])
def test_bad_planning_inputs_are_400s(client, engine, process, inputs):
    before = job_count(engine)
    resp = _run(client, process, inputs)
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    assert resp.get_json()["code"] and job_count(engine) == before


def test_impact_answers_as_the_analysis(client, engine, sample_city):
    with engine.connect() as conn:
        road = conn.execute(sa.text("SELECT id FROM traffic.roads ORDER BY ST_Length(geom) DESC "
                                    "LIMIT 1")).scalar_one()
        expected = corridor_impact(conn, road=road, width_m=40).document()
    resp = _run(client, "impact", {"road": road, "width": 40})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    result = resp.get_json()
    assert result["totals"] == json.loads(json.dumps(expected["totals"], default=str))
    assert len(result["features"]["features"]) == len(expected["features"]["features"]) > 0
    frame = analyst.impact(road=road, width_m=40)
    assert len(frame) == len(expected["features"]["features"]) and frame.crs.to_epsg() == 4326


def _figures(report: dict) -> dict:
    """A report's figures as JSON, without the moment it was made."""
    return {k: v for k, v in json.loads(json.dumps(report, default=str)).items()
            if k != "generated_at"}


def test_ward_report_answers_as_the_report(client, engine, ward):
    with engine.connect() as conn:
        expected = _figures(ward_report(conn, ward))
    resp = _run(client, "ward-report", {"code": ward})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert _figures(resp.get_json()) == expected and expected["unit"]["code"] == ward
    assert _run(client, "ward-report", {"code": "99999"}).status_code == 404
    assert _figures(analyst.ward_report(ward)) == expected


def test_analyst_check_gives_the_rules_features(engine, ward):
    frame = analyst.check("zoning_floors")
    assert len(frame) == _counts(engine, None)["zoning_floors"] > 0
    assert frame.crs.to_epsg() == 4326 and {"feature_id", "measured", "limit_value"} <= set(frame.columns)
    assert len(analyst.check("zoning_floors", ward=ward)) == _counts(engine, ward)["zoning_floors"]
    with pytest.raises(LookupError):
        analyst.check("not_a_rule")
