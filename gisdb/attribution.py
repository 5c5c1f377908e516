"""Who is writing: transaction-local settings every writer sets before it changes data
(API edits, `gisdb edit`, imports), so the database's own triggers (history, feed) and
the audit trail record the same actor, source, request and import.

`gisdb.source` is `api`, `cli` or `import`; a writer that sets nothing (a DBA's psql)
is seen as `sql` by the triggers."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

SOURCES = ("api", "cli", "import")

_SET = sa.text(
    "SELECT set_config('gisdb.actor', :actor, true), set_config('gisdb.source', :source, true), "
    "set_config('gisdb.request_id', :request_id, true), "
    "set_config('gisdb.import_id', :import_id, true), set_config('gisdb.comment', :comment, true)")


def attribute(conn: Connection, *, actor: str, source: str, request_id: str | None = None,
              import_id: int | None = None, comment: str | None = None) -> None:
    """Set the attribution GUCs for the rest of `conn`'s current transaction (bound
    values, `set_config(..., true)`: gone at commit or rollback)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}")
    conn.execute(_SET, {"actor": actor or "", "source": source, "request_id": request_id or "",
                        "import_id": "" if import_id is None else str(int(import_id)),
                        "comment": comment or ""})


@dataclass(frozen=True)
class Writer:
    """Who writes, and from where: what a write's attribution and audit row record."""

    actor: str
    source: str                      # api | cli | import
    request_id: str | None = None
    comment: str | None = None
    remote_addr: str | None = None
    import_id: int | None = None

    def attribute(self, conn: Connection) -> None:
        """Set the attribution GUCs for `conn`'s current transaction."""
        attribute(conn, actor=self.actor, source=self.source, request_id=self.request_id,
                  import_id=self.import_id, comment=self.comment)
