"""OGC API - Processes through real clients over a real socket: OWSLib's Processes
client lists and describes the processes and executes count-within synchronously and as
a job; plain HTTP follows the job's Location to its results."""
from __future__ import annotations

import json
import time
import urllib.request

from owslib.ogcapi.processes import Processes

from processes_support import SMALL
from served_app import http_get, in_thread


def _poll(url: str, timeout: float = 60.0) -> dict:
    end = time.monotonic() + timeout
    while True:
        status = json.loads(http_get(url)[2])
        if status["status"] not in ("accepted", "running") or time.monotonic() > end:
            return status
        time.sleep(0.2)


def test_owslib_lists_describes_and_executes(app):
    with in_thread(app) as host:
        base = f"http://{host}"
        client = Processes(base)
        assert "count-within" in {p["id"] for p in client.processes()}
        described = client.process("count-within")
        assert set(described["inputs"]) == {"geometry", "layers", "at_date"}
        inputs = {"geometry": SMALL, "layers": ["buildings", "roads"]}
        outputs = client.execute("count-within", inputs)              # response=document
        counts = {e["layer"]: e["count"] for e in outputs["result"]["layers"]}
        assert counts["buildings"] > 0 and set(counts) == {"buildings", "roads"}
        job = Processes(base).execute("count-within", inputs, async_=True)
        assert job["status"] in ("accepted", "running", "successful")
        status = _poll(f"{base}/jobs/{job['jobID']}")
        assert status["status"] == "successful"
        code, headers, body = http_get(f"{base}/jobs/{job['jobID']}/results")
        assert code == 200 and headers["Content-Type"].startswith("application/json")
        assert {e["layer"]: e["count"] for e in json.loads(body)["result"]["layers"]} == counts


def test_async_execution_answers_201_with_a_location(app):
    with in_thread(app) as host:
        request = urllib.request.Request(
            f"http://{host}/processes/count-within/execution", method="POST",
            data=json.dumps({"inputs": {"geometry": SMALL, "layers": ["parcels"]}}).encode(),
            headers={"Content-Type": "application/json", "Prefer": "respond-async"})
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 201
            location = response.headers["Location"]
        assert location.startswith(f"http://{host}/jobs/")
        assert _poll(location)["status"] == "successful"
