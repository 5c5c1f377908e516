"""OGC API - Processes: the process list and descriptions, synchronous execution of
count-within (the same counts as /query/within, with breakdowns and ward parts), jobs
(asynchronous by preference or because the input is large) with status, results and
dismissal (test_processes_jobs.py: jobs outliving their app, dead runners)."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from processes_support import EXECUTE, LARGE, SMALL, execute, job_count, wait_for
from webmap.api.processes import PROCESSES_CONFORMANCE


def test_process_list_and_description(client):
    listing = client.get("/processes")
    assert listing.status_code == 200
    ids = {p["id"] for p in listing.get_json()["processes"]}
    assert "count-within" in ids
    doc = client.get("/processes/count-within").get_json()
    assert doc["inputs"]["geometry"]["schema"]["required"] == ["type", "coordinates"]
    assert doc["inputs"]["layers"]["minOccurs"] == 0
    assert "result" in doc["outputs"]
    assert {"sync-execute", "async-execute"} <= set(doc["jobControlOptions"])
    execute_link = [link["href"] for link in doc["links"] if link["rel"].endswith("/execute")]
    assert urlsplit(execute_link[0]).path == EXECUTE


def test_conformance_landing_and_api_name_processes(client):
    assert set(PROCESSES_CONFORMANCE) <= set(client.get("/conformance").get_json()["conformsTo"])
    rels = {link["rel"] for link in client.get("/?f=json").get_json()["links"]}
    assert "http://www.opengis.net/def/rel/ogc/1.0/processes" in rels
    paths = client.get("/api?f=json").get_json()["paths"]
    assert {"/processes", "/processes/{processId}", "/processes/{processId}/execution", "/jobs",
            "/jobs/{jobId}", "/jobs/{jobId}/results"} <= set(paths)
    assert "delete" in paths["/jobs/{jobId}"]


def test_sync_execution_counts_as_within_does(client, engine):
    before = job_count(engine)
    resp = execute(client, {"geometry": SMALL, "layers": ["buildings", "parcels"]})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    result = resp.get_json()
    within = client.post("/query/within", json={"geometry": SMALL,
                                                "layers": "buildings,parcels"}).get_json()
    assert [(e["layer"], e["count"]) for e in result["layers"]] == \
        [(e["layer"], e["count"]) for e in within["layers"]]
    buildings = result["layers"][0]
    assert buildings["count"] > 0
    assert sum(v["count"] for v in buildings["breakdown"]["values"]) == buildings["count"]
    wards = result["wards"]
    assert wards and all(0 < w["share_of_ward"] <= 1 for w in wards)
    # the parts of the wards inside the shape add up to the shape (it lies inside the city)
    assert sum(w["area_inside_m2"] for w in wards) == pytest.approx(within["query"]["area_m2"],
                                                                    rel=0.01)
    assert all(w["area_inside_m2"] < w["area_m2"] for w in wards)
    assert job_count(engine) == before          # a synchronous run stores no job
    document = execute(client, {"geometry": SMALL, "layers": ["roads"]}, response="document")
    assert set(document.get_json()) == {"result"}


def test_async_job_status_results_and_dismissal(client):
    resp = execute(client, {"geometry": SMALL, "layers": ["buildings"]},
                   headers={"Prefer": "respond-async"})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.headers["Preference-Applied"] == "respond-async"
    job_url = urlsplit(resp.headers["Location"]).path
    assert resp.get_json()["status"] in ("accepted", "running", "successful")
    status = wait_for(client, job_url)
    assert status["status"] == "successful" and status["progress"] == 100
    results_link = [link for link in status["links"] if link["rel"].endswith("/results")]
    assert urlsplit(results_link[0]["href"]).path == job_url + "/results"
    results = client.get(job_url + "/results").get_json()
    sync = execute(client, {"geometry": SMALL, "layers": ["buildings"]}).get_json()
    assert results["result"]["layers"] == sync["layers"]
    jobs = client.get("/jobs").get_json()["jobs"]
    assert status["jobID"] in {job["jobID"] for job in jobs}
    dismissed = client.delete(job_url)
    assert dismissed.status_code == 200 and dismissed.get_json()["status"] == "dismissed"
    gone = client.get(job_url + "/results")
    assert gone.status_code == 404 and gone.get_json()["code"] == "NotFound"


def test_a_large_area_runs_as_a_job(client):
    resp = execute(client, {"geometry": LARGE, "layers": ["roads"]})
    assert resp.status_code == 201
    status = wait_for(client, urlsplit(resp.headers["Location"]).path)
    assert status["status"] == "successful"
