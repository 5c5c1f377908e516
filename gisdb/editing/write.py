"""Running a write: batches of changes (one layer, one operation each), in the caller's
transaction, after the attribution GUCs; each batch is one statement (validate, write
and its audit row, `statements`). The first refused feature raises (the caller's
transaction then rolls back: nothing changed, no audit row)."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from psycopg.types.json import Jsonb
from sqlalchemy import exc as sa_exc

from ..attribution import Writer
from ..errors import FeatureConflict, NotFound, PreconditionFailed
from ..importing.target import ImportTarget
from ..model import STORAGE_SRID
from .changes import Change
from .problems import integrity_refusal, refusal
from .statements import AUDIT_WRITER, statement_for

RETRYABLE = ("40001", "40P01")          # serialization failure, deadlock


@dataclass(frozen=True)
class Batch:
    """Changes of one operation on one layer, their geometries in `srid`."""

    target: ImportTarget
    op: str
    changes: list[Change]
    srid: int = STORAGE_SRID


@dataclass(frozen=True)
class Result:
    """What a change did: the feature's id and new version (None once deleted)."""

    index: int
    op: str
    layer: str
    feature_id: int
    version: str | None
    repairs: list[str] = field(default_factory=list)


def _payload(change: Change, row: int) -> dict:
    return {"r": row, "id": change.feature_id, "v": change.expected, "f": change.flag,
            "p": change.properties, "g": change.wkb.hex() if change.wkb is not None else None,
            "k": change.keep_geometry}


def _run(conn: sa.Connection, batch: Batch, writer: Writer) -> list:
    statement = statement_for(batch.target, batch.op, batch.srid, conn.dialect)
    rows = [_payload(c, i) for i, c in enumerate(batch.changes)]
    who = {"a_" + name: getattr(writer, name) for name, _ in AUDIT_WRITER}
    first = batch.changes[0].index if len(batch.changes) == 1 else None
    try:
        return conn.exec_driver_sql(statement.sql, {**statement.constants, "batch": Jsonb(rows),
                                                    **who}).all()
    except sa_exc.IntegrityError as exc:
        raise integrity_refusal(batch.target, exc, batch.op, first) from None
    except sa_exc.OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) in RETRYABLE:
            raise FeatureConflict("another write got in the way; try again", rule="retry",
                                  action=first) from None
        raise


def _check(batch: Batch, rows: list) -> None:
    """Raise for the first change that failed: missing, refused, or stale."""
    layer = batch.target.layer_id
    for row in rows:
        change = batch.changes[row._row]
        if not row.present:
            raise NotFound(f"no feature with id {change.feature_id} in {layer}")
        reasons = [] if batch.op == "delete" else row._reasons
        if reasons:
            raise refusal(batch.target, reasons[0], change.index)
    for row in rows:
        change = batch.changes[row._row]
        done = row.deleted if batch.op == "delete" else row.version is not None
        if not done:
            raise PreconditionFailed(
                f"feature {change.feature_id} of {layer} changed since it was read "
                "(If-Match is not its current ETag): read it again", field="If-Match",
                rule="stale_version", action=change.index)


def apply_batch(conn: sa.Connection, batch: Batch, writer: Writer) -> list[Result]:
    """Validate, write and audit one batch; its results in the order of its changes."""
    rows = _run(conn, batch, writer)
    _check(batch, rows)
    layer = batch.target.layer_id
    return [Result(batch.changes[r._row].index, batch.op, layer, int(r._id),
                   None if batch.op == "delete" else r.version,
                   [] if batch.op == "delete" else list(r._repairs)) for r in rows]


def single_statement(batches: list[Batch]) -> bool:
    """True when `batches` are one statement that writes all or nothing by itself (one
    batch of creates, or of one change): it may run in autocommit, one round trip."""
    return len(batches) == 1 and (batches[0].op == "create" or len(batches[0].changes) == 1)


def write_batches(conn: sa.Connection, writer: Writer, batches: list[Batch]) -> list[Result]:
    """Apply `batches` in order in the caller's transaction (or one `single_statement`
    in autocommit), attributed to `writer` (each statement sets the GUCs first), one
    audit row per batch written. Raises on the first refusal (the caller rolls back)."""
    results: list[Result] = []
    for batch in batches:
        if not batch.changes:
            continue
        results.extend(apply_batch(conn, batch, writer))
    return sorted(results, key=lambda r: r.index)
