"""The planning analyses as processes: `impact` (road widening) and `ward-report`, each
answering what the analysis itself answers; bad inputs are JSON 400s; and the same
analyses from Python (layers.analyst)."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from layers import analyst
from layers.planning.impact import corridor_impact
from layers.planning.reports import ward_report
from processes_support import job_count


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


def _run(client, process: str, inputs: dict, headers: dict | None = None):
    return client.post(f"/processes/{process}/execution", json={"inputs": inputs},
                       headers=headers or {})


@pytest.mark.parametrize("process,inputs", [
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
