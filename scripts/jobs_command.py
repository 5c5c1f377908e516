"""`gisdb jobs`: the processes' jobs (OGC API - Processes `/jobs`): run them on a node of
their own, or list them."""
from __future__ import annotations

import signal

import click
import sqlalchemy as sa

from gisdb.engine import make_engine
from layers.processes import job_store
from layers.processes.jobs_table import Job
from layers.processes.runner import JobRunner

from .context import settings_from, user_errors


@click.group("jobs")
def jobs_group():
    """The processes' jobs: a worker that runs them, a listing, and pruning."""


@jobs_group.command("worker")
@click.option("--threads", type=click.IntRange(1, 64), default=None,
              help="Jobs run at once (default GISDB_JOB_WORKERS, at least 1).")
@click.option("--once", is_flag=True, help="Run the waiting jobs, then exit.")
@click.pass_context
@user_errors
def worker_command(ctx, threads, once):
    """Run jobs from the shared queue until stopped (Ctrl-C / SIGTERM), beside or instead
    of the app's own job threads (GISDB_JOB_WORKERS=0 on the web nodes); as the web's
    read role, with the jobs' statement timeout."""
    settings = settings_from(ctx).for_web()
    threads = threads or max(1, settings.job_workers)
    engine = make_engine(settings, timeout_ms=settings.job_timeout_ms,
                         application_name="gisdb-jobs", pool_size=threads + 2)
    runner = JobRunner(engine, threads, keep_days=settings.job_keep_days)
    if once:
        done = 0
        while runner.run_one():
            done += 1
        click.echo(f"{done} job(s) run")
        return
    stops = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stops)      # the threads inherit the mask
    runner.start()
    click.echo(f"job worker {runner.name}: {threads} thread(s); Ctrl-C stops it")
    try:
        signal.sigwait(stops)
    finally:
        runner.stop()
        engine.dispose()


@jobs_group.command("list")
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@click.pass_context
@user_errors
def list_command(ctx, limit):
    """The newest jobs of every caller: id, process, status, progress, owner, created."""
    jobs = Job.__table__
    engine = make_engine(settings_from(ctx), pool_size=1)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(jobs.c.id, jobs.c.process_id, jobs.c.status,
                                      jobs.c.progress, jobs.c.owner, jobs.c.created)
                            .order_by(jobs.c.created.desc()).limit(limit)).all()
    for row in rows:
        click.echo(f"{row.id}  {row.process_id:<14} {row.status:<10} {row.progress:>3}%  "
                   f"{row.owner}  {row.created:%Y-%m-%d %H:%M:%S}")


@jobs_group.command("prune")
@click.option("--days", type=click.IntRange(1, 36500), default=None,
              help="Keep the jobs that ended in the last DAYS days (default GISDB_JOB_KEEP_DAYS).")
@click.pass_context
@user_errors
def prune_command(ctx, days):
    """Delete the jobs (and their results) that ended more than DAYS days ago; waiting
    and running jobs are never touched. Every runner also does this on its own."""
    settings = settings_from(ctx)
    days = days or settings.job_keep_days
    if days <= 0:
        raise click.UsageError("GISDB_JOB_KEEP_DAYS is 0 (keep jobs for ever): give --days")
    engine = make_engine(settings.for_web(), pool_size=1)
    try:
        click.echo(f"{job_store.prune(engine, days)} job(s) older than {days} day(s) deleted")
    finally:
        engine.dispose()
