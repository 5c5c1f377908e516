"""Key/value facts about the database in `meta.state` (e.g. that the sample city was
loaded), read and written only through the `SchemaState` model. The caller owns the
transaction."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from .meta_tables import SchemaState


def state_value(conn: Connection, key: str) -> str | None:
    """The value recorded under `key`, or None."""
    return conn.execute(sa.select(SchemaState.value).where(SchemaState.key == key)).scalar()


def has_state(conn: Connection, key: str) -> bool:
    """Whether anything is recorded under `key`."""
    return conn.execute(sa.select(sa.exists().where(SchemaState.key == key))).scalar()


def record_state(conn: Connection, key: str, value: str) -> None:
    """Record `value` under `key`, replacing what was there (and its time)."""
    stmt = postgresql.insert(SchemaState).values(key=key, value=value)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=[SchemaState.key],
        set_={"value": stmt.excluded.value, "changed_at": sa.func.now()}))


def forget_state(conn: Connection, *keys: str) -> None:
    """Remove what is recorded under `keys`."""
    conn.execute(sa.delete(SchemaState).where(SchemaState.key.in_(keys)))
