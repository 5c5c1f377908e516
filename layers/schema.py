"""Bringing a database's schema up to date with the layers' Alembic migrations."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from gisdb.history.tables import HISTORY_SCHEMA
from gisdb.roles import grant_edit, grant_read

from .processes.jobs_table import grant_jobs
from .registry import DERIVED_SCHEMAS, SCHEMAS

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: sa.Engine, revision: str = "head") -> str:
    """Apply migrations up to `revision` in one transaction; returns the new revision."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS meta")
        command.upgrade(_config(conn), revision)
        derived = _existing_schemas(conn, DERIVED_SCHEMAS)
        grant_read(conn, (*SCHEMAS, *derived, HISTORY_SCHEMA))   # idempotent: covers tables and roles added later
        grant_edit(conn, (*SCHEMAS, *derived))
        grant_jobs(conn)
    return current_revision(engine)


def _existing_schemas(conn: sa.Connection, names: tuple[str, ...]) -> tuple[str, ...]:
    """Those of `names` the database has (a migration below their own creates none)."""
    found = set(conn.execute(sa.text("SELECT nspname FROM pg_namespace WHERE nspname = ANY(:names)"),
                             {"names": list(names)}).scalars())
    return tuple(n for n in names if n in found)


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table_schema": "meta"})
        return ctx.get_current_revision()


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()
