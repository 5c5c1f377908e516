"""The job runner: a bounded pool of threads that claim accepted jobs from the shared
queue (`meta.jobs`), run them outside any request, report progress and results, and a
heartbeat thread for the jobs they run.

Every app process starts one on its first processes request (`GISDB_JOB_WORKERS`
threads; 0 runs none there) and `gisdb jobs worker` runs one on its own: claims use
`FOR UPDATE SKIP LOCKED`, so any number of runners on any number of nodes share the
queue without running a job twice, and a job survives the process that accepted it.
Each runner also marks as failed the running jobs whose runner stopped beating, and
deletes the jobs that ended more than `keep_days` days ago (0: never)."""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid

import sqlalchemy as sa

from gisdb.errors import GisdbError, JobDismissed

from . import job_store
from .catalogue import get_process

log = logging.getLogger(__name__)
POLL_S = 1.0


class JobRunner:
    """Threads that run jobs; `start` is idempotent, `stop` ends them after their job."""

    def __init__(self, engine: sa.Engine, workers: int, *, poll_s: float = POLL_S,
                 beat_s: float = job_store.BEAT_S, stale_s: int = job_store.STALE_S,
                 keep_days: int = job_store.KEEP_DAYS):
        """`engine` reads the layers and calls the job functions (the read role's)."""
        self.engine = engine
        self.workers = max(0, int(workers))
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.poll_s, self.beat_s, self.stale_s = poll_s, beat_s, stale_s
        self.keep_days = max(0, int(keep_days))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._last_reap = 0.0

    def start(self) -> "JobRunner":
        """Start the worker threads and the heartbeat (once)."""
        with self._lock:
            if self._threads or not self.workers:
                return self
            targets = [self._work] * self.workers + [self._beat]
            for i, target in enumerate(targets):
                thread = threading.Thread(target=target, name=f"gisdb-job-{i}", daemon=True)
                thread.start()
                self._threads.append(thread)
        return self

    def wake(self) -> None:
        """A job was just submitted: look at the queue now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the threads to end and wait up to `timeout` seconds for them."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)

    def run_one(self) -> bool:
        """Reap dead runners' jobs and prune old ones when due, then claim and run one
        job; False when none was waiting."""
        now = time.monotonic()
        if now - self._last_reap >= self.beat_s:
            self._last_reap = now
            job_store.reap(self.engine, self.stale_s)
            if self.keep_days:
                job_store.prune(self.engine, self.keep_days)
        job = job_store.claim(self.engine, self.name)
        if job is None:
            return False
        self.execute(job)
        return True

    def execute(self, job) -> None:
        """Run one claimed job to its end, recording how it ended."""
        def progress(percent: int, message: str) -> None:
            if not job_store.report(self.engine, job.id, self.name, percent, message):
                raise JobDismissed("the job was dismissed")
        try:
            process = get_process(job.process_id)
            outputs = process.run(self.engine.connect, dict(job.inputs), progress)
        except JobDismissed:
            return
        except GisdbError as exc:
            job_store.finish(self.engine, job.id, self.name, ok=False, results=None,
                             message=str(exc))
            return
        except Exception:      # a bug must not kill the runner: the job fails, logged
            log.exception("job %s (%s) failed", job.id, job.process_id)
            job_store.finish(self.engine, job.id, self.name, ok=False, results=None,
                             message="the process failed with an internal error")
            return
        job_store.finish(self.engine, job.id, self.name, ok=True, results=outputs,
                         message="done")

    def _work(self) -> None:
        """A worker thread: run jobs while there are any, else wait for a wake-up."""
        while not self._stop.is_set():
            try:
                if self.run_one():
                    continue
            except Exception as exc:      # the database went away: keep polling
                log.warning("job runner %s: the queue is not reachable (%s)", self.name,
                            type(exc).__name__)
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def _beat(self) -> None:
        """The heartbeat thread: tells other runners this one's jobs are alive."""
        while not self._stop.wait(self.beat_s):
            try:
                job_store.beat(self.engine, self.name)
            except Exception as exc:
                log.warning("job runner %s: heartbeat failed (%s)", self.name, type(exc).__name__)
