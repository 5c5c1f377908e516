"""The import log (`meta.imports`): every run, dry runs included, with the file's
SHA-256, who ran it from where, the counts and the full report. A run is recorded as
`running` before any work (in its own transaction, so even a killed run leaves a
trace), and marked `done` in the same transaction that changes the layer."""
from __future__ import annotations

import getpass
import hashlib
import socket
from pathlib import Path

import sqlalchemy as sa

from ..meta_tables import ImportRecord
from .report import ImportReport

LOG = ImportRecord.__table__


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


def start_record(engine: sa.Engine, report: ImportReport, user: str | None = None) -> int:
    name, host = who()
    with engine.begin() as conn:
        return conn.execute(LOG.insert().values(
            layer_id=report.layer, file_name=report.file, file_sha256=report.sha256,
            mode=report.mode, dry_run=report.dry_run, user_name=user or name, host=host,
            status="running").returning(LOG.c.id)).scalar_one()


def _values(report: ImportReport) -> dict:
    return dict(finished_at=sa.func.now(), status=report.status, rows_read=report.read,
                rows_loaded=report.loaded, rows_rejected=report.rejected,
                rows_repaired=report.repaired, message=report.message, report=report.as_dict())


def finish_record(conn: sa.Connection, report: ImportReport) -> None:
    """Mark the run finished, on the caller's connection (inside its transaction)."""
    conn.execute(LOG.update().where(LOG.c.id == report.import_id).values(**_values(report)))


def close_record(engine: sa.Engine, report: ImportReport) -> None:
    """Record the outcome of a run that changed nothing (failed, or a dry run)."""
    with engine.begin() as conn:
        finish_record(conn, report)


def list_imports(engine: sa.Engine, limit: int = 20, layer: str | None = None) -> list[dict]:
    query = (sa.select(LOG.c.id, LOG.c.started_at, LOG.c.finished_at, LOG.c.layer_id, LOG.c.file_name,
                       LOG.c.file_sha256, LOG.c.mode, LOG.c.dry_run, LOG.c.user_name, LOG.c.host,
                       LOG.c.status, LOG.c.rows_read, LOG.c.rows_loaded, LOG.c.rows_rejected,
                       LOG.c.rows_repaired, LOG.c.message)
             .order_by(LOG.c.id.desc()).limit(limit))
    if layer:
        query = query.where(LOG.c.layer_id == layer)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def get_report(engine: sa.Engine, import_id: int) -> dict | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(LOG.c.report).where(LOG.c.id == import_id)).scalar_one_or_none()
