"""Who writes, from where: the transaction-local settings every writer sets before it
changes a layer, read by the history triggers (gisdb.history.triggers)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

SOURCES = ("api", "cli", "import")


def attribute(conn: Connection, *, actor: str, source: str, request_id: str | None = None,
              import_id: int | None = None, comment: str | None = None) -> None:
    """Set gisdb.actor, gisdb.source, gisdb.request_id, gisdb.import_id and gisdb.comment
    for the current transaction (bound values, `set_config(..., true)`)."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    values = {"actor": actor, "source": source, "request_id": request_id,
              "import_id": None if import_id is None else str(int(import_id)), "comment": comment}
    conn.execute(sa.text(
        "SELECT set_config('gisdb.actor', :actor, true), set_config('gisdb.source', :source, true), "
        "set_config('gisdb.request_id', coalesce(:request_id, ''), true), "
        "set_config('gisdb.import_id', coalesce(:import_id, ''), true), "
        "set_config('gisdb.comment', coalesce(:comment, ''), true)"), values)
