"""Reading and changing jobs in `meta.jobs`: the changes go through the table's
SECURITY DEFINER functions (layers.processes.jobs_table), each in a transaction set
READ WRITE, so the web's read role can run them and nothing else."""
from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa

from gisdb.engine import db_errors
from gisdb.errors import NotFound

from .jobs_table import Job

KEEP_DAYS = 30        # ended jobs (and their results) are deleted this many days after their end
STALE_S = 60          # a running job whose heartbeat is older than this has lost its runner
BEAT_S = 10           # how often a runner beats for its running jobs
MAX_LIST = 100
LOST = f"the runner of this job stopped (no heartbeat for {STALE_S} s)"
JOBS = Job.__table__


@contextmanager
def writing(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction in which the job functions may write (a read-only session's
    default is lifted for it alone)."""
    with db_errors(), engine.begin() as conn:
        conn.exec_driver_sql("SET TRANSACTION READ WRITE")
        yield conn


def parse_job_id(text: str) -> uuid.UUID:
    """A job id from a URL; NotFound for anything that is not one."""
    try:
        return uuid.UUID(str(text))
    except ValueError:
        raise NotFound(f"no job {str(text)[:64]!r}") from None


def submit(engine: sa.Engine, process_id: str, inputs: dict, owner: str) -> uuid.UUID:
    """A new accepted job; its id."""
    with writing(engine) as conn:
        return conn.execute(sa.text("SELECT meta.job_submit(:p, CAST(:i AS jsonb), :o)"),
                            {"p": process_id, "i": json.dumps(inputs), "o": owner}).scalar_one()


def _columns(results: bool = True) -> list:
    """The table's columns as readers see them: a running job whose runner stopped
    beating reads as failed even before a runner reaps it (so none looks stuck while no
    runner is up)."""
    lost = sa.and_(JOBS.c.status == "running",
                   JOBS.c.heartbeat < sa.func.now() - sa.func.make_interval(0, 0, 0, 0, 0, 0, STALE_S))
    replaced = {"status": sa.case((lost, "failed"), else_=JOBS.c.status),
                "message": sa.case((lost, LOST), else_=JOBS.c.message)}
    return [replaced[c.name].label(c.name) if c.name in replaced else c
            for c in JOBS.c if results or c.name != "results"]


def get_job(conn: sa.Connection, job_id: uuid.UUID, owner: str | None = None):
    """The job's row; NotFound when missing or (with `owner`) someone else's."""
    stmt = sa.select(*_columns()).where(JOBS.c.id == job_id)
    if owner is not None:
        stmt = stmt.where(JOBS.c.owner == owner)
    with db_errors():
        row = conn.execute(stmt).one_or_none()
    if row is None:
        raise NotFound(f"no job {str(job_id)!r}")
    return row


def list_jobs(conn: sa.Connection, owner: str, *, limit: int = MAX_LIST, offset: int = 0,
              status: tuple[str, ...] = ()) -> list:
    """The owner's jobs, newest first (without their results)."""
    stmt = (sa.select(*_columns(results=False)).where(JOBS.c.owner == owner)
            .order_by(JOBS.c.created.desc(), JOBS.c.id).limit(limit).offset(offset))
    if status:
        stmt = stmt.where(JOBS.c.status.in_(status))
    with db_errors():
        return conn.execute(stmt).all()


def dismiss(engine: sa.Engine, job_id: uuid.UUID, owner: str) -> None:
    """Dismiss the owner's job (a running one stops at its next progress report);
    NotFound when it is not the owner's."""
    with writing(engine) as conn:
        done = conn.execute(sa.text("SELECT meta.job_dismiss(:j, :o)"),
                            {"j": job_id, "o": owner}).scalar()
    if done is None:
        raise NotFound(f"no job {str(job_id)!r}")


def claim(engine: sa.Engine, runner: str):
    """The oldest accepted job, now running under `runner`; None when the queue is empty."""
    with writing(engine) as conn:
        return conn.execute(sa.text("SELECT * FROM meta.job_claim(:r)"), {"r": runner}).one_or_none()


def report(engine: sa.Engine, job_id: uuid.UUID, runner: str, percent: int, message: str) -> bool:
    """Record a running job's progress; False when it no longer runs under `runner`
    (dismissed, or reaped)."""
    with writing(engine) as conn:
        return bool(conn.execute(sa.text("SELECT meta.job_progress(:j, :r, :p, :m)"),
                                 {"j": job_id, "r": runner, "p": int(percent),
                                  "m": message}).scalar())


def beat(engine: sa.Engine, runner: str) -> int:
    """Refresh the heartbeat of the runner's running jobs; how many there are."""
    with writing(engine) as conn:
        return conn.execute(sa.text("SELECT meta.job_beat(:r)"), {"r": runner}).scalar_one()


def finish(engine: sa.Engine, job_id: uuid.UUID, runner: str, *, ok: bool,
           results: dict | None, message: str) -> bool:
    """Record a job's end (successful with its results, or failed with why)."""
    with writing(engine) as conn:
        return bool(conn.execute(
            sa.text("SELECT meta.job_finish(:j, :r, :ok, CAST(:res AS jsonb), :m)"),
            {"j": job_id, "r": runner, "ok": ok, "m": message,
             "res": None if results is None else json.dumps(results, default=str)}).scalar())


def reap(engine: sa.Engine, stale_s: int = STALE_S) -> int:
    """Mark running jobs whose runner stopped beating as failed; how many."""
    with writing(engine) as conn:
        return conn.execute(sa.text("SELECT meta.job_reap(:s)"), {"s": int(stale_s)}).scalar_one()


def prune(engine: sa.Engine, keep_days: int = KEEP_DAYS) -> int:
    """Delete the jobs that ended (successful, failed or dismissed) more than `keep_days`
    days ago, with their results; how many. Waiting and running jobs are never touched."""
    with writing(engine) as conn:
        return conn.execute(sa.text("SELECT meta.job_prune(:d)"), {"d": int(keep_days)}).scalar_one()
