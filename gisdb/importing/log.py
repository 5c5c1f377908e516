"""The import log (`meta.imports`): every run, dry runs included, with the file's
SHA-256, who ran it from where, the counts and the full report. A run is recorded as
`running` before any work (in its own transaction, so even a killed run leaves a
trace), and marked `done` in the same transaction that changes the layer.

While a run lives, its lease connection holds a session advisory lock keyed on the run's
id. A killed or crashed run loses its session and the lock with it, so a `running` row
without its lock is a run that died: the log shows it as `interrupted` (the layer was
left as it was, its transaction having never committed), and the next import records it
so for good."""
from __future__ import annotations

import getpass
import hashlib
import socket
from pathlib import Path

import sqlalchemy as sa

from ..meta_tables import ImportRecord
from .report import ImportReport

LOG = ImportRecord.__table__
LIVE_LOCK = 0x6764              # advisory lock class of running imports ("gd"); the object is the id
INTERRUPTED = ("the import process ended before finishing (killed or crashed); its changes were "
               "never committed, so the layer was left as it was")
_LOCKS = sa.table("pg_locks", sa.column("locktype"), sa.column("database"), sa.column("classid"),
                  sa.column("objid"), sa.column("objsubid"), sa.column("granted"), schema="pg_catalog")
_DATABASES = sa.table("pg_database", sa.column("oid"), sa.column("datname"), schema="pg_catalog")


def _lock_object(import_id):
    return import_id % 2147483647           # the lock's second key is an int4


def _alive():
    """True where the row's run still holds its lock (its process is running)."""
    return sa.exists().where(
        _LOCKS.c.locktype == "advisory", _LOCKS.c.granted, _LOCKS.c.objsubid == 2,
        _LOCKS.c.database == sa.select(_DATABASES.c.oid)
        .where(_DATABASES.c.datname == sa.func.current_database()).scalar_subquery(),
        sa.cast(_LOCKS.c.classid, sa.BigInteger) == LIVE_LOCK,
        sa.cast(_LOCKS.c.objid, sa.BigInteger) == _lock_object(LOG.c.id))


def _shown_status():
    return sa.case((sa.and_(LOG.c.status == "running", ~_alive()), "interrupted"), else_=LOG.c.status)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def who() -> tuple[str, str]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return user, socket.gethostname()


def start_record(lease: sa.Connection, report: ImportReport, user: str | None = None) -> int:
    """Record the run as `running` and take its lock on `lease`, a connection kept open
    for the whole run (`release` gives the lock back). Runs that died earlier are
    recorded as `interrupted` on the way."""
    name, host = who()
    with lease.begin():
        lease.execute(LOG.update().where(LOG.c.status == "running", ~_alive())
                      .values(status="interrupted", finished_at=sa.func.now(), message=INTERRUPTED))
        import_id = lease.execute(LOG.insert().values(
            layer_id=report.layer, file_name=report.file, file_sha256=report.sha256,
            mode=report.mode, dry_run=report.dry_run, user_name=user or name, host=host,
            status="running").returning(LOG.c.id)).scalar_one()
        # A session lock (kept after this commit) taken in the inserting transaction: no
        # moment where the row is visible as running without its lock.
        lease.execute(sa.select(sa.func.pg_advisory_lock(LIVE_LOCK, _lock_object(import_id))))
    return import_id


def release(lease: sa.Connection, import_id: int | None) -> None:
    """Give back the run's lock before the lease connection returns to the pool."""
    if import_id is None:
        return
    try:
        if lease.in_transaction():
            lease.rollback()
        with lease.begin():
            lease.execute(sa.select(sa.func.pg_advisory_unlock(LIVE_LOCK, _lock_object(import_id))))
    except sa.exc.DBAPIError:
        lease.invalidate()      # never pool a session that may still hold the lock


def _values(report: ImportReport) -> dict:
    return dict(finished_at=sa.func.now(), status=report.status, rows_read=report.read,
                rows_loaded=report.loaded, rows_rejected=report.rejected,
                rows_repaired=report.repaired, message=report.message, report=report.as_dict())


def finish_record(conn: sa.Connection, report: ImportReport) -> None:
    """Mark the run finished, on the caller's connection (inside its transaction)."""
    conn.execute(LOG.update().where(LOG.c.id == report.import_id).values(**_values(report)))


def close_record(lease: sa.Connection, report: ImportReport) -> None:
    """Record the outcome of a run that changed nothing (failed, or a dry run), on the
    run's lease connection (idle while the work runs on its own connection)."""
    if lease.in_transaction():
        lease.rollback()
    with lease.begin():
        finish_record(lease, report)


def list_imports(engine: sa.Engine, limit: int = 20, layer: str | None = None) -> list[dict]:
    query = (sa.select(LOG.c.id, LOG.c.started_at, LOG.c.finished_at, LOG.c.layer_id, LOG.c.file_name,
                       LOG.c.file_sha256, LOG.c.mode, LOG.c.dry_run, LOG.c.user_name, LOG.c.host,
                       _shown_status().label("status"), LOG.c.rows_read, LOG.c.rows_loaded, LOG.c.rows_rejected,
                       LOG.c.rows_repaired, LOG.c.message)
             .order_by(LOG.c.id.desc()).limit(limit))
    if layer:
        query = query.where(LOG.c.layer_id == layer)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def get_report(engine: sa.Engine, import_id: int) -> dict | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(LOG.c.report).where(LOG.c.id == import_id)).scalar_one_or_none()
