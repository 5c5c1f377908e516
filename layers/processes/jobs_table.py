"""The job store's table, `meta.jobs`, and the functions that change it.

The web connects as the read role in read-only sessions (gisdb.roles): it holds no
right to write any table. Submitting, claiming, reporting progress on, finishing and
dismissing a job are SECURITY DEFINER functions owned by the schema's owner, each
changing one job in one way; the read role may EXECUTE them (in a transaction it sets
READ WRITE) and SELECT the table, nothing more. So several app nodes and `gisdb jobs
worker` processes share one queue: a runner claims the oldest accepted job with
`FOR UPDATE SKIP LOCKED`, beats a heartbeat while it runs, and any runner marks a
running job whose heartbeat stopped as failed (its runner died)."""
from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from gisdb.model import META_SCHEMA, Base

STATUSES = ("accepted", "running", "successful", "failed", "dismissed")


class Job(Base):
    """One execution of a process: who asked, with what, where it stands, its results."""

    __tablename__ = "jobs"
    __table_args__ = (
        sa.CheckConstraint("status IN ('accepted', 'running', 'successful', 'failed', "
                           "'dismissed')", name="jobs_status"),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name="jobs_progress"),
        sa.Index("jobs_queue", "created", postgresql_where=sa.text("status = 'accepted'")),
        sa.Index("jobs_owner", "owner", "created"),
        {"schema": META_SCHEMA},
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          server_default=sa.text("gen_random_uuid()"))
    process_id: Mapped[str] = mapped_column(sa.Text, nullable=False)
    inputs: Mapped[dict] = mapped_column(JSONB, nullable=False)
    owner: Mapped[str] = mapped_column(sa.Text, nullable=False)     # principal, or 'anonymous'
    status: Mapped[str] = mapped_column(sa.Text, nullable=False, server_default="accepted")
    message: Mapped[str | None] = mapped_column(sa.Text)
    progress: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False, server_default="0")
    runner: Mapped[str | None] = mapped_column(sa.Text)
    created: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False,
                                                 server_default=sa.func.now())
    started: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    updated: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False,
                                                 server_default=sa.func.now())
    heartbeat: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    results: Mapped[dict | None] = mapped_column(JSONB)


# Each function changes one job in one way; `SET search_path` keeps a caller's path out.
FUNCTIONS = """
CREATE OR REPLACE FUNCTION meta.job_submit(p_process text, p_inputs jsonb, p_owner text)
RETURNS uuid LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, meta AS $$
  INSERT INTO meta.jobs (process_id, inputs, owner) VALUES (p_process, p_inputs, p_owner)
  RETURNING id
$$;

CREATE OR REPLACE FUNCTION meta.job_claim(p_runner text)
RETURNS SETOF meta.jobs LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, meta AS $$
  UPDATE meta.jobs SET status = 'running', runner = p_runner, started = now(),
         heartbeat = now(), updated = now(), message = 'running'
  WHERE id = (SELECT id FROM meta.jobs WHERE status = 'accepted'
              ORDER BY created LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING *
$$;

CREATE OR REPLACE FUNCTION meta.job_progress(p_id uuid, p_runner text, p_progress int,
                                             p_message text)
RETURNS boolean LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, meta AS $$
  WITH done AS (
    UPDATE meta.jobs SET progress = greatest(0, least(100, p_progress)),
           message = left(p_message, 500), heartbeat = now(), updated = now()
    WHERE id = p_id AND runner = p_runner AND status = 'running' RETURNING 1)
  SELECT EXISTS (SELECT 1 FROM done)
$$;

CREATE OR REPLACE FUNCTION meta.job_beat(p_runner text)
RETURNS integer LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, meta AS $$
  WITH beat AS (UPDATE meta.jobs SET heartbeat = now()
                WHERE runner = p_runner AND status = 'running' RETURNING 1)
  SELECT count(*)::int FROM beat
$$;

CREATE OR REPLACE FUNCTION meta.job_finish(p_id uuid, p_runner text, p_ok boolean,
                                           p_results jsonb, p_message text)
RETURNS boolean LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, meta AS $$
  WITH done AS (
    UPDATE meta.jobs SET status = CASE WHEN p_ok THEN 'successful' ELSE 'failed' END,
           progress = CASE WHEN p_ok THEN 100 ELSE progress END,
           results = CASE WHEN p_ok THEN p_results END, message = left(p_message, 500),
           finished = now(), updated = now()
    WHERE id = p_id AND runner = p_runner AND status = 'running' RETURNING 1)
  SELECT EXISTS (SELECT 1 FROM done)
$$;

CREATE OR REPLACE FUNCTION meta.job_dismiss(p_id uuid, p_owner text)
RETURNS text LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, meta AS $$
  WITH done AS (
    UPDATE meta.jobs SET status = 'dismissed', results = NULL, message = 'dismissed',
           finished = coalesce(finished, now()), updated = now()
    WHERE id = p_id AND owner = p_owner RETURNING status)
  SELECT status FROM done
$$;

CREATE OR REPLACE FUNCTION meta.job_reap(p_stale_seconds int)
RETURNS integer LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, meta AS $$
  WITH dead AS (
    UPDATE meta.jobs SET status = 'failed', finished = now(), updated = now(),
           message = 'the runner of this job stopped (no heartbeat for '
                     || p_stale_seconds || ' s)'
    WHERE status = 'running' AND heartbeat < now() - make_interval(secs => p_stale_seconds)
    RETURNING 1)
  SELECT count(*)::int FROM dead
$$;

CREATE OR REPLACE FUNCTION meta.job_prune(p_keep_days int)
RETURNS integer LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, meta AS $$
  WITH gone AS (
    DELETE FROM meta.jobs
    WHERE status IN ('successful', 'failed', 'dismissed')
      AND finished < now() - make_interval(days => greatest(p_keep_days, 1))
    RETURNING 1)
  SELECT count(*)::int FROM gone
$$;
"""
FUNCTION_SIGNATURES = (
    "meta.job_submit(text, jsonb, text)", "meta.job_claim(text)",
    "meta.job_progress(uuid, text, int, text)", "meta.job_beat(text)",
    "meta.job_finish(uuid, text, boolean, jsonb, text)", "meta.job_dismiss(uuid, text)",
    "meta.job_reap(int)", "meta.job_prune(int)",
)
READ_ROLE = "gisdb_reader"


def install_jobs(conn: sa.Connection) -> None:
    """Create the table and its functions; only the read role may run them."""
    Job.__table__.create(conn, checkfirst=True)
    conn.exec_driver_sql(FUNCTIONS)
    for signature in FUNCTION_SIGNATURES:
        conn.exec_driver_sql("REVOKE ALL ON FUNCTION " + signature + " FROM PUBLIC")
    grant_jobs(conn)


def grant_jobs(conn: sa.Connection) -> None:
    """EXECUTE on the job functions for the read role, when both exist (SELECT on the
    table comes with the web's meta tables, gisdb.roles.WEB_META_TABLES)."""
    if conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"),
                    {"r": READ_ROLE}).scalar() is None:
        return
    if conn.execute(sa.text("SELECT to_regprocedure(:f)"),
                    {"f": FUNCTION_SIGNATURES[0]}).scalar() is None:
        return
    for signature in FUNCTION_SIGNATURES:
        conn.exec_driver_sql("GRANT EXECUTE ON FUNCTION " + signature + " TO " + READ_ROLE)


def remove_jobs(conn: sa.Connection) -> None:
    """Drop the functions and the table (the migration's downgrade)."""
    for signature in FUNCTION_SIGNATURES:
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS " + signature)
    conn.exec_driver_sql("DROP TABLE IF EXISTS meta.jobs")
