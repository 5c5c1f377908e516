"""Logging which server a pool's new connections reach, so a failover shows in the log:
with libpq's multi-host URLs (`host=a,b&target_session_attrs=read-write`) the same
engine reaches the promoted replica once the old primary is gone, without a restart."""
from __future__ import annotations

import logging

import sqlalchemy as sa

log = logging.getLogger(__name__)


def _server_of(dbapi_connection) -> str:
    """host:port of a psycopg connection (a socket directory is a host too)."""
    info = getattr(dbapi_connection, "info", None)
    return f"{info.host}:{info.port}" if info is not None else "unknown server"


def log_server_changes(engine: sa.Engine, label: str) -> None:
    """Log the server of `engine`'s first connection, and every change of server after."""
    seen: dict[str, str] = {}

    def connected(dbapi_connection, _record) -> None:
        server = _server_of(dbapi_connection)
        before = seen.get("server")
        if before is None:
            log.info("%s connects to %s", label, server)
        elif before != server:
            log.warning("%s now connects to %s (was %s): the database server changed, "
                        "a failover?", label, server, before)
        seen["server"] = server

    sa.event.listen(engine, "connect", connected)
