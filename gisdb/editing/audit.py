"""The audit trail: one `meta.audit` row per write operation (a layer and an operation
of a request, a transaction or `gisdb edit`) is written by the write's own statement
(gisdb.editing.statements); this is the one trail staff and admins read, edits and imports (`meta.imports`) together,
filtered by actor, layer, source and time, newest first, in pages."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from ..meta_tables import AuditEntry, ImportRecord

AUDIT = AuditEntry.__table__
IMPORTS = ImportRecord.__table__
MAX_PAGE = 1000


@dataclass(frozen=True)
class TrailQuery:
    """Filters and page of the audit trail."""

    actor: str | None = None
    layer: str | None = None
    source: str | None = None        # api | cli | import
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = 100
    offset: int = 0


def _edits() -> sa.Select:
    return sa.select(
        sa.literal("edit").label("kind"), AUDIT.c.id, AUDIT.c.at, AUDIT.c.actor, AUDIT.c.source,
        AUDIT.c.action, AUDIT.c.layer, AUDIT.c.feature_ids, AUDIT.c.n_features, AUDIT.c.comment,
        AUDIT.c.request_id, AUDIT.c.import_id, AUDIT.c.remote_addr,
        sa.null().label("status"), sa.null().label("file"))


def _imports() -> sa.Select:
    return sa.select(
        sa.literal("import").label("kind"), IMPORTS.c.id, IMPORTS.c.started_at, IMPORTS.c.user_name,
        sa.literal("import"), sa.func.concat("import ", IMPORTS.c.mode), IMPORTS.c.layer_id,
        sa.cast(sa.null(), sa.ARRAY(sa.BigInteger)), IMPORTS.c.rows_loaded, IMPORTS.c.message,
        sa.cast(sa.null(), sa.Text), IMPORTS.c.id, IMPORTS.c.host, IMPORTS.c.status,
        IMPORTS.c.file_name).where(~IMPORTS.c.dry_run)


def trail(conn: sa.Connection, q: TrailQuery) -> list[dict]:
    """One page of the trail (edits and imports), newest first."""
    both = sa.union_all(_edits(), _imports()).subquery("trail")
    query = sa.select(both).order_by(both.c.at.desc(), both.c.id.desc())
    for column, value in (("actor", q.actor), ("layer", q.layer), ("source", q.source)):
        if value is not None:
            query = query.where(both.c[column] == value)
    if q.since is not None:
        query = query.where(both.c.at >= q.since)
    if q.until is not None:
        query = query.where(both.c.at < q.until)
    rows = conn.execute(query.limit(min(q.limit, MAX_PAGE)).offset(q.offset)).mappings()
    return [{**row, "at": row["at"].isoformat()} for row in rows]
