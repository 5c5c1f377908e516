"""The app's job runner (layers.processes.runner), built and started on the first
processes request of each worker process and kept in its Services (whose `dispose` stops
it), with an engine of its own: the read role's, with the jobs' statement timeout
(GISDB_JOB_TIMEOUT_MS) instead of a request's deadline."""
from __future__ import annotations

import threading

from gisdb.engine import make_engine
from layers.processes.runner import JobRunner

from .services import services

_LOCK = threading.Lock()


def runner() -> JobRunner:
    """This app's runner, started (it runs no thread when GISDB_JOB_WORKERS is 0)."""
    found = services()
    with _LOCK:
        if found.job_runner is None:
            settings = found.settings
            workers = settings.job_workers
            engine = make_engine(settings, timeout_ms=settings.job_timeout_ms,
                                 application_name="gisdb-jobs", pool_size=workers + 2,
                                 max_overflow=2)
            found.job_runner = JobRunner(engine, workers, keep_days=settings.job_keep_days).start()
    return found.job_runner
