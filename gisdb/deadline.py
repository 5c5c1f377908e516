"""A deadline per unit of work (a web request), not per statement.

The engines' `statement_timeout` bounds one statement; a request that runs several
statements could take a multiple of it. `start(ms)` sets this thread's deadline, and
`bound_statements(engine, default_ms)` makes every statement of that engine run with
`statement_timeout` = the time left (never more than the engine's own timeout), or
fail at once with QueryTimeout when no time is left.

To save a round trip per statement, the timeout is only lowered when the time left is
shorter than the timeout in force by more than `SLACK_MS`: a request can overrun its
deadline by at most that much. Inside a transaction the lowered timeout is `SET LOCAL`
(gone with the transaction); on an autocommit connection it is a session `SET`,
remembered on the pooled connection and put back by the next statement that runs
without a deadline or with more time."""
from __future__ import annotations

import threading
import time

from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .errors import QueryTimeout

SLACK_MS = 1000
_local = threading.local()


def start(budget_ms: int) -> None:
    """This thread's work must be done within `budget_ms` from now."""
    _local.deadline = time.monotonic() + budget_ms / 1000.0


def clear() -> None:
    """No deadline for this thread any more."""
    _local.deadline = None


def remaining_ms() -> float | None:
    """Milliseconds left before this thread's deadline, None without a deadline."""
    deadline = getattr(_local, "deadline", None)
    return None if deadline is None else (deadline - time.monotonic()) * 1000.0


def _in_transaction(dbapi_conn) -> bool:
    """True when the next statement runs inside a transaction block (psycopg 3)."""
    return not dbapi_conn.autocommit


def _set_timeout(info: dict, dbapi_conn, wanted: int) -> None:
    """On a cursor of its own: the statement's may be a server-side (named) cursor."""
    local = _in_transaction(dbapi_conn)         # SET LOCAL inside a transaction block
    dbapi_conn.execute("SELECT set_config('statement_timeout', %s, %s)", (str(int(wanted)), local))
    info["local_timeout" if local else "session_timeout"] = wanted


def _timeout_in_force(info: dict, dbapi_conn, default_ms: int) -> int:
    session = info.get("session_timeout", default_ms)
    local = info.get("local_timeout")
    if local is not None and dbapi_conn.info.transaction_status != TransactionStatus.IDLE:
        return local                    # still inside the transaction that set it
    info.pop("local_timeout", None)
    return session


def bound_statements(engine: Engine, default_ms: int) -> None:
    """Make `engine`'s statements respect this thread's deadline (see the module doc)."""

    @event.listens_for(engine, "before_cursor_execute")
    def _bound(conn, cursor, statement, parameters, context, executemany):
        left = remaining_ms()
        info, dbapi_conn = conn.info, conn.connection.dbapi_connection
        current = _timeout_in_force(info, dbapi_conn, default_ms)
        if left is None:
            if current != default_ms and "local_timeout" not in info:
                _set_timeout(info, dbapi_conn, default_ms)
            return
        if left <= 0:
            raise QueryTimeout("the request ran past its deadline")
        wanted = int(min(left, default_ms))
        if current > wanted + SLACK_MS or (current < wanted - SLACK_MS
                                           and "local_timeout" not in info):
            _set_timeout(info, dbapi_conn, wanted)

    @event.listens_for(engine, "checkin")
    def _forget_local(dbapi_conn, record):
        record.info.pop("local_timeout", None)      # the transaction ended with the checkout
