"""Database roles: least privilege for the web.

- the owner (the URL of `GISDB_DATABASE_URL`, or the embedded cluster's `gisdb`) owns the
  schema; migrations, imports and the command line run as it;
- `gisdb_reader` (NOLOGIN) holds what serving needs: USAGE on the layer schemas and
  `meta`, SELECT on the layer tables and on the meta tables the web reads;
- `gisdb_web` (LOGIN, member of `gisdb_reader`, no other right, sessions read-only by
  default) is the role the web app, its tiles and its PNG renderer connect as;
- `gisdb_editor` (NOLOGIN) may change the layers' rows and nothing else: USAGE on the
  layer schemas, SELECT/INSERT/UPDATE/DELETE on their tables, USAGE on their sequences,
  INSERT on `meta.audit`; no DDL, no TRUNCATE, no other meta table (the data-version
  trigger is SECURITY DEFINER, so its bump needs no right of the editor's);
- `gisdb_writer` (LOGIN, member of `gisdb_editor`) is the role the web's write path
  connects as (`gisdb.engine.make_write_engine`), only when GISDB_WRITES is on.

The embedded cluster creates both roles on every start (an older cluster is upgraded);
on an external server a DBA creates them, or the migration creates `gisdb_reader` when
the owner may create roles. Grants are idempotent: the migration applies them once and
`layers.schema.migrate` re-applies them, so tables added later are covered too.
"""
from __future__ import annotations

from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

READ_ROLE = "gisdb_reader"
WEB_ROLE = "gisdb_web"
# meta tables the web reads: data versions (ETags, tile cache keys), the raster catalog,
# who may do what (gisdb.access: users, keys, grants, hidden layers), and the processes'
# jobs (changed only through their functions, layers.processes.jobs_table).
WEB_META_TABLES = ("meta.layer_versions", "meta.rasters", "meta.users", "meta.api_keys",
                   "meta.grants", "meta.hidden_layers", "meta.jobs")
EDIT_ROLE = "gisdb_editor"
WRITE_ROLE = "gisdb_writer"
# meta tables the write path appends to (created by later migrations: granted when present)
EDIT_META_TABLES = ("meta.audit",)
EDIT_READ_META_TABLES = ("meta.layer_versions",)   # the violations' refresh after a write reads them

_IGNORE_RACE = "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;"

def _login_pair_sql(group: str, login: str) -> str:
    """Create NOLOGIN `group` and LOGIN `login` (a member of it, with no other right)."""
    return f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{group}') THEN
    BEGIN CREATE ROLE {group} NOLOGIN; {_IGNORE_RACE} END;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{login}') THEN
    BEGIN CREATE ROLE {login} LOGIN; {_IGNORE_RACE} END;
  END IF;
END $$;
ALTER ROLE {login} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT;
GRANT {group} TO {login};
"""


CLUSTER_ROLES_SQL = (_login_pair_sql(READ_ROLE, WEB_ROLE)
                     + f"ALTER ROLE {WEB_ROLE} SET default_transaction_read_only = on;\n"
                     + _login_pair_sql(EDIT_ROLE, WRITE_ROLE))

# No '%' in these statements: the driver would read it as a placeholder.
# Created by the migration when missing and the owner may create roles; otherwise the
# grants wait for a DBA (a WARNING says so) and the web keeps read-only sessions.
def _group_role_sql(role: str) -> str:
    """Create NOLOGIN `role` when missing and the current user may; else warn."""
    return f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
    IF (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
      BEGIN CREATE ROLE {role} NOLOGIN; {_IGNORE_RACE} END;
    ELSE
      RAISE WARNING USING MESSAGE = 'role {role} is missing and ' || current_user
        || ' may not create it: it gets no grants until a DBA creates it and '
        || '`gisdb migrate` runs again';
    END IF;
  END IF;
END $$;
"""


READ_ROLE_SQL = _group_role_sql(READ_ROLE)
EDIT_ROLE_SQL = _group_role_sql(EDIT_ROLE)

# TEMP is granted to PUBLIC by default: the read role needs no table of its own, so it
# goes (the owner keeps it; only the database owner or a superuser may change it).
DATABASE_SQL = """
DO $$ BEGIN
  IF pg_has_role(current_user, (SELECT datdba FROM pg_database
                                WHERE datname = current_database()), 'USAGE') THEN
    EXECUTE 'REVOKE TEMPORARY, CREATE ON DATABASE ' || quote_ident(current_database())
      || ' FROM PUBLIC';
    EXECUTE 'GRANT TEMPORARY ON DATABASE ' || quote_ident(current_database())
      || ' TO ' || quote_ident(current_user);
  END IF;
END $$;
"""


def ensure_cluster_roles(conn: Connection) -> None:
    """Create (or bring up to date) the read, web, edit and write roles; run as the
    superuser."""
    conn.exec_driver_sql(CLUSTER_ROLES_SQL)


def read_role_exists(conn: Connection, role: str = READ_ROLE) -> bool:
    """True when `role` (the read role by default) exists in the cluster."""
    return conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"),
                        {"r": role}).scalar() is not None


def _existing(conn: Connection, tables: Iterable[str]) -> list[str]:
    """The quoted names of those `schema.table` names that exist."""
    q = conn.dialect.identifier_preparer
    out = []
    for table in tables:
        if conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": table}).scalar() is not None:
            schema, name = table.split(".")
            out.append(q.quote_schema(schema) + "." + q.quote_identifier(name))
    return out


def grant_edit(conn: Connection, layer_schemas: Iterable[str]) -> bool:
    """Grant `gisdb_editor` the rows of the layer tables (now and tables the current role
    creates there later) and appending to the audit log; False when the role is missing."""
    conn.exec_driver_sql(EDIT_ROLE_SQL)
    if not read_role_exists(conn, EDIT_ROLE):
        return False
    role = conn.dialect.identifier_preparer.quote_identifier(EDIT_ROLE)
    rows = "SELECT, INSERT, UPDATE, DELETE"
    conn.exec_driver_sql("GRANT USAGE ON SCHEMA meta TO " + role)
    for table in _existing(conn, EDIT_META_TABLES):
        conn.exec_driver_sql("GRANT INSERT ON " + table + " TO " + role)
    for table in _existing(conn, EDIT_READ_META_TABLES):
        conn.exec_driver_sql("GRANT SELECT ON " + table + " TO " + role)
    for schema in layer_schemas:
        quoted = conn.dialect.identifier_preparer.quote_schema(schema)
        conn.exec_driver_sql("GRANT USAGE ON SCHEMA " + quoted + " TO " + role)
        conn.exec_driver_sql("GRANT " + rows + " ON ALL TABLES IN SCHEMA " + quoted + " TO " + role)
        conn.exec_driver_sql("GRANT USAGE ON ALL SEQUENCES IN SCHEMA " + quoted + " TO " + role)
        conn.exec_driver_sql("ALTER DEFAULT PRIVILEGES IN SCHEMA " + quoted
                             + " GRANT " + rows + " ON TABLES TO " + role)
        conn.exec_driver_sql("ALTER DEFAULT PRIVILEGES IN SCHEMA " + quoted
                             + " GRANT USAGE ON SEQUENCES TO " + role)
    return True


def grant_read(conn: Connection, layer_schemas: Iterable[str]) -> bool:
    """Grant `gisdb_reader` what serving needs in this database, and SELECT on the layer
    tables created later by the current role; returns False when the role is missing."""
    conn.exec_driver_sql(READ_ROLE_SQL)
    if not read_role_exists(conn):
        return False
    q = conn.dialect.identifier_preparer
    role = q.quote_identifier(READ_ROLE)
    conn.exec_driver_sql(DATABASE_SQL)
    conn.exec_driver_sql("GRANT USAGE ON SCHEMA meta TO " + role)
    for table in _existing(conn, WEB_META_TABLES):
        conn.exec_driver_sql("GRANT SELECT ON " + table + " TO " + role)
    for schema in layer_schemas:
        quoted = q.quote_schema(schema)
        conn.exec_driver_sql("GRANT USAGE ON SCHEMA " + quoted + " TO " + role)
        conn.exec_driver_sql("GRANT SELECT ON ALL TABLES IN SCHEMA " + quoted + " TO " + role)
        conn.exec_driver_sql("ALTER DEFAULT PRIVILEGES IN SCHEMA " + quoted
                             + " GRANT SELECT ON TABLES TO " + role)
    return True
