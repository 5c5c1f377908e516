"""Jobs are rows of `meta.jobs`, not threads: a job accepted by an app that runs none
outlives it and is run by `gisdb jobs worker`; a job whose runner died (no heartbeat) is
marked failed by the next runner; dismissal stops a job's reports; the web's read role
changes jobs only through their functions. On a database of this module's own, so that
no other app's runner takes the jobs."""
from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gisdb.engine import make_engine
from gisdb.errors import NotFound
from layers.processes import job_store
from layers.processes.runner import JobRunner
from processes_support import SMALL, execute
from scripts.cli import main

INPUTS = {"geometry": SMALL, "layers": ["roads"], "at_date": "2026-01-01"}


@pytest.fixture(scope="module")
def own(own_database):
    """(settings, owner engine, read-role engine) of the module's database."""
    settings, engine = own_database
    web = make_engine(settings.for_web(), pool_size=1)
    yield settings, engine, web
    web.dispose()


def _app(settings):
    from webmap.app import create_app
    return create_app({"TESTING": True, "SETTINGS": replace(settings, job_workers=0)})


def _close(app) -> None:
    app.extensions["gisdb"].dispose()


def test_jobs_outlive_the_app_that_accepted_them(own):
    """An app that runs no jobs (GISDB_JOB_WORKERS=0) accepts one and goes away;
    `gisdb jobs worker --once` runs it; another app serves its results."""
    settings, _, _ = own
    accepting = _app(settings)
    resp = execute(accepting.test_client(), {"geometry": SMALL, "layers": ["parcels"]},
                   headers={"Prefer": "respond-async"})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    job_url = urlsplit(resp.headers["Location"]).path
    assert accepting.test_client().get(job_url).get_json()["status"] == "accepted"
    _close(accepting)
    ran = CliRunner().invoke(main, ["jobs", "worker", "--once"],
                             env={"GISDB_DATABASE_URL": settings.database_url,
                                  "GISDB_WEB_DATABASE_URL": settings.web_database_url},
                             catch_exceptions=False)
    assert ran.exit_code == 0 and "1 job(s) run" in ran.output, ran.output
    other = _app(settings)
    try:
        status = other.test_client().get(job_url).get_json()
        assert status["status"] == "successful" and status["progress"] == 100
        result = other.test_client().get(job_url + "/results").get_json()["result"]
        assert [e["layer"] for e in result["layers"]] == ["parcels"]
    finally:
        _close(other)


def test_a_job_whose_runner_died_is_marked_failed(own):
    """A job running under a runner that stopped beating an hour ago: the next runner
    that looks at the queue marks it failed, and its status and results say why."""
    settings, engine, web = own
    with engine.begin() as conn:
        job_id = conn.execute(sa.text(
            "INSERT INTO meta.jobs (process_id, inputs, owner, status, runner, started, heartbeat) "
            "VALUES ('count-within', '{}', 'anonymous', 'running', 'dead-runner', "
            "now() - interval '1 hour', now() - interval '1 hour') RETURNING id")).scalar_one()
    app = _app(settings)            # no runner runs here (GISDB_JOB_WORKERS=0)
    try:
        client = app.test_client()
        for _ in range(2):          # read as failed at once; then failed in the table too
            status = client.get(f"/jobs/{job_id}").get_json()
            assert status["status"] == "failed" and "runner" in status["message"]
            failed = client.get(f"/jobs/{job_id}/results")
            assert failed.status_code == 500 and failed.get_json()["code"] == "JobFailed"
            JobRunner(web, 1).run_one()
    finally:
        _close(app)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status FROM meta.jobs WHERE id = :j"),
                            {"j": job_id}).scalar_one() == "failed"
    assert job_store.report(web, job_id, "dead-runner", 50, "late") is False


def test_a_live_runner_keeps_its_job(own):
    """The reaper leaves a job whose runner beats."""
    _, _, web = own
    job_id = job_store.submit(web, "count-within", INPUTS, "anonymous")
    claimed = job_store.claim(web, "live-runner")
    assert claimed.id == job_id and claimed.status == "running"
    assert job_store.beat(web, "live-runner") == 1
    assert job_store.reap(web, stale_s=60) == 0
    assert job_store.report(web, job_id, "live-runner", 30, "working")
    job_store.finish(web, job_id, "live-runner", ok=True, results={"result": 1}, message="done")
    with web.connect() as conn:
        row = job_store.get_job(conn, job_id)
    assert (row.status, row.progress, row.results) == ("successful", 100, {"result": 1})


def test_dismissal_stops_a_running_jobs_reports(own):
    _, _, web = own
    job_id = job_store.submit(web, "count-within", INPUTS, "key:someone")
    assert job_store.claim(web, "runner-a").id == job_id
    with pytest.raises(NotFound):
        job_store.dismiss(web, job_id, "anonymous")          # not the owner's
    job_store.dismiss(web, job_id, "key:someone")
    assert job_store.report(web, job_id, "runner-a", 60, "still working") is False
    assert job_store.finish(web, job_id, "runner-a", ok=True, results={}, message="x") is False
    with web.connect() as conn:
        assert job_store.get_job(conn, job_id).status == "dismissed"


def test_the_read_role_changes_jobs_only_through_their_functions(own):
    _, _, web = own
    job_id = job_store.submit(web, "count-within", INPUTS, "anonymous")
    for statement in ("UPDATE meta.jobs SET status = 'successful'", "DELETE FROM meta.jobs",
                      "INSERT INTO meta.jobs (process_id, inputs, owner) VALUES ('x', '{}', 'y')"):
        with web.begin() as conn:
            conn.exec_driver_sql("SET TRANSACTION READ WRITE")
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.exec_driver_sql(statement)
    with web.connect() as conn:
        assert job_store.get_job(conn, job_id).status == "accepted"


def _ended_job(engine, status: str, ended_days_ago: float | None) -> str:
    with engine.begin() as conn:
        return str(conn.execute(sa.text(
            "INSERT INTO meta.jobs (process_id, inputs, owner, status, finished) "
            "VALUES ('count-within', '{}', 'pruning', :s, now() - make_interval(secs => :d)) "
            "RETURNING id"),
            {"s": status, "d": None if ended_days_ago is None else ended_days_ago * 86400}).scalar_one())


def _pruning_jobs(engine) -> set[str]:
    with engine.connect() as conn:
        return {str(i) for i in conn.execute(sa.text(
            "SELECT id FROM meta.jobs WHERE owner = 'pruning'")).scalars()}


def test_runners_and_the_command_delete_old_ended_jobs_only(own):
    """Ended jobs (successful, failed, dismissed) older than the kept days go, with their
    results; recent ones and every waiting or running job stay, however old. A runner
    prunes on its own (as the read role, through meta.job_prune); `gisdb jobs prune
    --days N` does it by hand; a day count of 0 or less is refused."""
    settings, engine, web = own
    old = {_ended_job(engine, status, 40) for status in ("successful", "failed", "dismissed")}
    recent = {_ended_job(engine, "successful", 5)}
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE meta.jobs SET created = now() - interval '90 days', "
                             "finished = NULL WHERE id = CAST(:i AS uuid)"),
                     {"i": (waiting := _ended_job(engine, "accepted", None))})
    assert old | recent | {waiting} <= _pruning_jobs(engine)
    runner = JobRunner(web, 1, keep_days=30)
    assert runner.run_one() in (True, False)
    left = _pruning_jobs(engine)
    assert not (old & left) and recent | {waiting} <= left
    env = {"GISDB_DATABASE_URL": settings.database_url,
           "GISDB_WEB_DATABASE_URL": settings.web_database_url}
    pruned = CliRunner().invoke(main, ["jobs", "prune", "--days", "2"], env=env, catch_exceptions=False)
    assert pruned.exit_code == 0 and "1 job(s) older than 2 day(s) deleted" in pruned.output, pruned.output
    assert recent.isdisjoint(_pruning_jobs(engine)) and waiting in _pruning_jobs(engine)
    refused = CliRunner().invoke(main, ["jobs", "prune", "--days", "0"], env=env)
    assert refused.exit_code == 2 and "0" in refused.output
    forever = CliRunner().invoke(main, ["jobs", "prune"], env={**env, "GISDB_JOB_KEEP_DAYS": "0"})
    assert forever.exit_code == 2 and "give --days" in forever.output
