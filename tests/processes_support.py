"""What the processes tests share: drawn areas around the sample city's centre, an
execute call, waiting for a job, and counting the stored jobs."""
from __future__ import annotations

import time

import sqlalchemy as sa

SMALL = {"type": "Polygon", "coordinates": [[[108.205, 16.05], [108.215, 16.05],
                                             [108.215, 16.06], [108.205, 16.06],
                                             [108.205, 16.05]]]}
# about 5.3 x 5.6 km: above count-within's LARGE_AREA_M2, so it runs as a job
LARGE = {"type": "Polygon", "coordinates": [[[108.18, 16.03], [108.23, 16.03], [108.23, 16.08],
                                             [108.18, 16.08], [108.18, 16.03]]]}
EXECUTE = "/processes/count-within/execution"


def execute(client, inputs: dict, headers: dict | None = None, **body):
    """POST an execute request of count-within."""
    return client.post(EXECUTE, json={"inputs": inputs, **body}, headers=headers or {})


def wait_for(client, job_url: str, headers: dict | None = None, timeout: float = 60.0) -> dict:
    """The job's status info once it has ended (successful, failed or dismissed)."""
    end = time.monotonic() + timeout
    while True:
        status = client.get(job_url, headers=headers or {}).get_json()
        if status["status"] not in ("accepted", "running") or time.monotonic() > end:
            return status
        time.sleep(0.2)


def job_count(engine: sa.Engine) -> int:
    """Jobs stored in meta.jobs."""
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM meta.jobs")).scalar_one()
