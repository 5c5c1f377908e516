"""Bad execute requests and job requests are clear JSON 4xx answers that change nothing
(no job stored): bad JSON, a body that is not an object, unknown members and inputs,
wrong types, missing or invalid geometries, an oversized body, unknown processes and
jobs, someone else's job. Layers hidden from the caller stay hidden from processes."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from access_fixtures import make_key
from gisdb.access.visibility import CHECK_SECONDS
from processes_support import EXECUTE, SMALL, execute, job_count, wait_for
from scripts.cli import main

BOWTIE = {"type": "Polygon", "coordinates": [[[108.20, 16.05], [108.21, 16.06], [108.21, 16.05],
                                              [108.20, 16.06], [108.20, 16.05]]]}
BAD_BODIES = [
    ("{not json", "InvalidParameterValue"),
    ("[1, 2]", "InvalidParameterValue"),
    ('{"inputs": [1]}', "InvalidParameterValue"),
    ('{"inputs": {}, "mode": "fast"}', "InvalidParameterValue"),
    ('{"inputs": {}, "response": "zip"}', "InvalidParameterValue"),
    ('{"inputs": {}}', "InvalidParameterValue"),
    ('{"inputs": {"geometry": 5}}', "InvalidParameterValue"),
    ('{"inputs": {"geometry": {"type": "Point", "coordinates": [108.2, 16.05]}}}',
     "InvalidParameterValue"),
    ('{"inputs": {"geometry": {"type": "Polygon", "coordinates": [[["a", 1]]]}}}',
     "InvalidParameterValue"),
    ('{"inputs": {"geometry": {"type": "Polygon", "coordinates": [[[108.2, 16.05], [108.3, 16.0]]]}}}',
     "InvalidParameterValue"),
    ('{"inputs": {"geometry": %s, "colour": "red"}}' % str(SMALL).replace("'", '"'),
     "InvalidParameterValue"),
    ('{"inputs": {"geometry": %s, "layers": "roads"}}' % str(SMALL).replace("'", '"'),
     "InvalidParameterValue"),
    ('{"inputs": {"geometry": %s, "layers": ["nope"]}}' % str(SMALL).replace("'", '"'),
     "InvalidParameterValue"),
    ('{"inputs": {"geometry": %s, "at_date": "yesterday"}}' % str(SMALL).replace("'", '"'),
     "InvalidParameterValue"),
    ('{"inputs": {"geometry": %s}}' % str(BOWTIE).replace("'", '"'), "InvalidParameterValue"),
    ('{"inputs": {"geometry": {"type": "Polygon", "coordinates": [[[0, -80], [179, -80], '
     '[179, 80], [0, 80], [0, -80]]]}}}', "InvalidParameterValue"),
    ('[' * 100_000 + ']' * 100_000, "InvalidParameterValue"),
]


@pytest.mark.parametrize("body,code", BAD_BODIES, ids=range(len(BAD_BODIES)))
@pytest.mark.parametrize("prefer", ["", "respond-async"])
def test_bad_execute_requests_are_json_400s_that_store_nothing(client, engine, body, code, prefer):
    before = job_count(engine)
    resp = client.post(EXECUTE, data=body, content_type="application/json",
                       headers={"Prefer": prefer} if prefer else {})
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    doc = resp.get_json()
    assert doc["code"] == code and doc["description"]
    assert "Traceback" not in doc["description"] and "SELECT" not in doc["description"]
    assert job_count(engine) == before


def test_an_oversized_body_is_a_413(client, app, engine):
    before = job_count(engine)
    limit = app.extensions["gisdb"].settings.max_body_bytes
    resp = client.post(EXECUTE, data=b'{"inputs": {"x": "' + b"a" * limit + b'"}}',
                       content_type="application/json")
    assert resp.status_code == 413 and resp.get_json()["code"]
    assert job_count(engine) == before


@pytest.mark.parametrize("method,url,status", [
    ("get", "/processes/nope", 404), ("post", "/processes/nope/execution", 404),
    ("get", "/processes?x=1", 400), ("get", "/processes/count-within?f=xml", 400),
    ("get", "/jobs/not-a-uuid", 404), ("get", "/jobs/00000000-0000-0000-0000-000000000000", 404),
    ("get", "/jobs/00000000-0000-0000-0000-000000000000/results", 404),
    ("delete", "/jobs/00000000-0000-0000-0000-000000000000", 404),
    ("get", "/jobs?limit=0", 400), ("get", "/jobs?status=lost", 400),
    ("get", "/jobs?limit=x", 400),
])
def test_bad_process_and_job_requests(client, method, url, status):
    resp = getattr(client, method)(url, json={"inputs": {}} if method == "post" else None)
    assert resp.status_code == status
    assert resp.get_json()["code"] and resp.get_json()["description"]


def test_a_job_is_its_callers_alone(client, engine, sample_city):
    key = {"Authorization": "Bearer " + make_key(engine, "proc_owner", "read")}
    resp = execute(client, {"geometry": SMALL, "layers": ["roads"]},
                   headers={"Prefer": "respond-async", **key})
    job_url = urlsplit(resp.headers["Location"]).path
    assert wait_for(client, job_url, key)["status"] == "successful"
    for path in (job_url, job_url + "/results"):
        assert client.get(path).status_code == 404              # anonymous
    assert client.delete(job_url).status_code == 404
    assert job_url.rsplit("/", 1)[1] not in {j["jobID"] for j in client.get("/jobs").get_json()["jobs"]}
    assert client.get(job_url + "/results", headers=key).status_code == 200


HIDDEN = "buildings"


def _cli(settings, *args) -> None:
    result = CliRunner().invoke(main, list(args), env={"GISDB_DATABASE_URL": settings.database_url},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.fixture
def hidden(settings, app, engine, sample_city):
    """Buildings hidden from anonymous readers while the test runs; a reader's key."""
    reader = {"Authorization": "Bearer " + make_key(engine, "proc_reader", "read", "construction")}
    _cli(settings, "layers", "hide", HIDDEN)
    time.sleep(CHECK_SECONDS + 0.1)
    yield reader
    _cli(settings, "layers", "show", HIDDEN)
    time.sleep(CHECK_SECONDS + 0.1)


def test_hidden_layers_stay_hidden_from_processes(client, hidden):
    refused = execute(client, {"geometry": SMALL, "layers": [HIDDEN]})
    assert refused.status_code == 400 and HIDDEN in refused.get_json()["description"]
    everything = execute(client, {"geometry": SMALL}).get_json()
    assert HIDDEN not in {e["layer"] for e in everything["layers"]}
    allowed = execute(client, {"geometry": SMALL, "layers": [HIDDEN]}, headers=hidden)
    assert allowed.status_code == 200 and allowed.get_json()["layers"][0]["count"] > 0
