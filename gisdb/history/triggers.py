"""DDL of the history: the schema, the change log, and for each tracked table its
version table, indexes, trigger function and statement-level triggers.

Each trigger runs once per statement over its transition tables (REFERENCING NEW/OLD
TABLE), with one INSERT ... SELECT into the version table and one into
`history.changes` (one data-modifying statement): never a per-row loop. An UPDATE that
leaves a row equal (whole-row IS DISTINCT FROM) records nothing, so re-running an import
adds no history. TRUNCATE is recorded, not refused: a BEFORE TRUNCATE trigger closes
every current version and logs a delete per row. The function is SECURITY DEFINER
(owned by the schema owner, search_path pinned), so a write role needs no right on the
history schema. Attribution comes from the transaction-local settings `gisdb.actor`,
`gisdb.source`, `gisdb.request_id`, `gisdb.import_id` and `gisdb.comment` (see
gisdb/attribution.py); without them the actor is the session user and the source `sql`.

Names and columns written here come from the layer registry's tables, never from users.
`install_history` is idempotent: a later migration that changes a tracked table runs it
again (new columns are added to the version table, the function is rewritten).
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .tables import HISTORY_SCHEMA, history_table_name

CHANGES_SEQUENCE = "history.changes_change_id_seq"

SCHEMA_DDL = """
CREATE SCHEMA IF NOT EXISTS history;
CREATE TABLE IF NOT EXISTS history.changes (
  change_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  at timestamptz NOT NULL DEFAULT now(),
  layer text NOT NULL,
  feature_id text NOT NULL,
  op char(1) NOT NULL,
  actor text, source text, import_id bigint, request_id text);
-- Append-only in time order: a BRIN finds the rows of an instant (a delete's entry in a
-- feature's history) at almost no cost per write; imports are found by their id.
CREATE INDEX IF NOT EXISTS changes_at ON history.changes USING brin (at);
CREATE INDEX IF NOT EXISTS changes_import ON history.changes (import_id) WHERE import_id IS NOT NULL;
"""

# Half of each page stays free for the copy a version's closing writes there (a HOT
# update: no index entry), so even a re-import that updates every row touches no index.
FILLFACTOR = 50

HIST_COLUMNS_DDL = ("hist_from timestamptz NOT NULL, hist_to timestamptz, hist_op char(1), "
                    "hist_actor text, hist_source text, hist_import_id bigint, hist_request_id text, "
                    "hist_comment text, hist_xid xid8, hist_change_id bigint")

# Read once per statement, in the function's DECLARE section.
ATTRIBUTION_DECLARE = """
  v_actor text := coalesce(nullif(current_setting('gisdb.actor', true), ''), session_user::text);
  v_source text := coalesce(nullif(current_setting('gisdb.source', true), ''), 'sql');
  v_request text := nullif(current_setting('gisdb.request_id', true), '');
  v_import bigint := nullif(current_setting('gisdb.import_id', true), '')::bigint;
  v_comment text := nullif(current_setting('gisdb.comment', true), '');
  v_xid xid8 := pg_current_xact_id();
  v_now timestamptz := now();"""

FUNCTION_TEMPLATE = """
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '32MB' AS $fn$
DECLARE{declare}
BEGIN
  IF TG_OP = 'INSERT' THEN{insert}
  ELSIF TG_OP = 'UPDATE' THEN{update}
  ELSIF TG_OP = 'DELETE' THEN{delete}
  ELSE{truncate}
  END IF;
  RETURN NULL;
END $fn$
"""

_LOG = """
    INSERT INTO history.changes (change_id, xid, at, layer, feature_id, op, actor, source,
                                 import_id, request_id) OVERRIDING SYSTEM VALUE"""
_LOG_VALUES = "v_xid, v_now, {layer}, {key_text}, {op}, v_actor, v_source, v_import, v_request"

# New versions draw their change id in the version INSERT; the change log is written
# from its RETURNING (no join back to the rows).
_VERSIONS = """
    WITH v AS (
      INSERT INTO {hist} ({cols}, hist_from, hist_op, hist_actor, hist_source, hist_import_id,
                          hist_request_id, hist_comment, hist_xid, hist_change_id)
      SELECT {src_cols}, v_now, {op}, v_actor, v_source, v_import, v_request, v_comment, v_xid,
             nextval('{seq}')
      FROM {source}
      RETURNING {key}, hist_op, hist_change_id){log}
    SELECT hist_change_id, {log_values} FROM v{more};"""

INSERT_BODY = _VERSIONS

# Old and new rows paired by key (a FULL JOIN: an UPDATE of the key itself reads as a
# delete of the old key and an insert of the new one); rows left equal drop out.
UPDATE_BODY = """
    WITH d AS MATERIALIZED (
      SELECT n.*, o.{key} AS hist_old_key
      FROM old_rows AS o FULL JOIN new_rows AS n ON o.{key} = n.{key}
      WHERE o IS DISTINCT FROM n),
    closed AS (
      UPDATE {hist} AS h SET hist_to = v_now FROM d
      WHERE h.{key} = d.hist_old_key AND h.hist_to IS NULL),
    v AS (
      INSERT INTO {hist} ({cols}, hist_from, hist_op, hist_actor, hist_source, hist_import_id,
                          hist_request_id, hist_comment, hist_xid, hist_change_id)
      SELECT {d_cols}, v_now, CASE WHEN d.hist_old_key IS NULL THEN 'I' ELSE 'U' END, v_actor,
             v_source, v_import, v_request, v_comment, v_xid, nextval('{seq}')
      FROM d WHERE d.{key} IS NOT NULL
      RETURNING {key}, hist_op, hist_change_id){log}
    SELECT hist_change_id, {log_values} FROM v
    UNION ALL
    SELECT nextval('{seq}'), {deleted_values} FROM d WHERE d.{key} IS NULL;"""

DELETE_BODY = """
    WITH closed AS (
      UPDATE {hist} AS h SET hist_to = v_now FROM old_rows AS o
      WHERE h.{key} = o.{key} AND h.hist_to IS NULL){log}
    SELECT nextval('{seq}'), {deleted_values} FROM old_rows AS o;"""

# Before the rows go: every current version closes and each logs a delete.
TRUNCATE_BODY = """
    WITH closed AS (
      UPDATE {hist} SET hist_to = v_now WHERE hist_to IS NULL RETURNING {key}){log}
    SELECT nextval('{seq}'), {closed_values} FROM closed;"""


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(name)


def _literal(value: str) -> str:
    """A SQL string literal of a registry constant (layer ids are snake_case)."""
    if not value.replace("_", "").isalnum():
        raise ValueError(f"not a layer id: {value!r}")
    return "'" + value + "'"


def function_sql(conn: Connection, table: sa.Table, layer_id: str) -> str:
    """The CREATE FUNCTION statement of `table`'s history trigger."""
    q = lambda name: _quote(conn, name)  # noqa: E731
    key = q(_key_column(table))
    names = [q(c.name) for c in table.columns]
    hist = HISTORY_SCHEMA + "." + q(history_table_name(table))
    parts = dict(hist=hist, key=key, cols=", ".join(names), seq=CHANGES_SEQUENCE, log=_LOG)
    log_values = _LOG_VALUES.format(layer=_literal(layer_id), key_text=key + "::text", op="hist_op")

    def deleted(prefix: str, column: str) -> str:
        return _LOG_VALUES.format(layer=_literal(layer_id), key_text=prefix + column + "::text", op="'D'")

    insert = INSERT_BODY.format(**parts, src_cols=", ".join("n." + n for n in names), op="'I'",
                                source="new_rows AS n", log_values=log_values, more="")
    update = UPDATE_BODY.format(**parts, d_cols=", ".join("d." + n for n in names),
                                log_values=log_values, deleted_values=deleted("d.", "hist_old_key"))
    delete = DELETE_BODY.format(**parts, deleted_values=deleted("o.", key))
    truncate = TRUNCATE_BODY.format(**parts, closed_values=deleted("", key))
    function = HISTORY_SCHEMA + "." + q("track__" + history_table_name(table))
    return FUNCTION_TEMPLATE.format(function=function, declare=ATTRIBUTION_DECLARE, insert=insert,
                                    update=update, delete=delete, truncate=truncate)


def _key_column(table: sa.Table) -> str:
    (key,) = table.primary_key.columns
    return key.name


def install_schema(conn: Connection) -> None:
    """Create the history schema and the change log (idempotent)."""
    conn.exec_driver_sql(SCHEMA_DDL)


def install_history(conn: Connection, table: sa.Table, layer_id: str, *, baseline: bool = True) -> None:
    """Give `table` its version table (created, or missing columns added), indexes,
    trigger function and triggers; with `baseline`, a new version table first receives
    the table's current rows as their first version (op I, source `baseline`)."""
    q = lambda name: _quote(conn, name)  # noqa: E731
    name = history_table_name(table)
    hist = HISTORY_SCHEMA + "." + q(name)
    source = q(table.schema) + "." + q(table.name)
    created = conn.execute(sa.text("SELECT to_regclass(:t) IS NULL"), {"t": f"history.{name}"}).scalar()
    if created:
        conn.exec_driver_sql("CREATE TABLE " + hist + " (LIKE " + source + ", " + HIST_COLUMNS_DDL
                             + ") WITH (fillfactor = " + str(int(FILLFACTOR)) + ")")
    _sync_columns(conn, table, hist)
    _create_indexes(conn, table, name)
    conn.exec_driver_sql(function_sql(conn, table, layer_id))
    _create_triggers(conn, table, source)
    if created and baseline:
        cols = ", ".join(q(c.name) for c in table.columns)
        conn.exec_driver_sql(
            "INSERT INTO " + hist + " (" + cols + ", hist_from, hist_op, hist_actor, hist_source, hist_xid) "
            "SELECT " + cols + ", now(), 'I', current_user, 'baseline', pg_current_xact_id() FROM " + source)


def _sync_columns(conn: Connection, table: sa.Table, hist: str) -> None:
    """Add the tracked table's columns the version table lacks, and drop every NOT NULL
    (LIKE copies them) but hist_from's: a version table has no constraint of its own."""
    q = lambda name: _quote(conn, name)  # noqa: E731
    conn.exec_driver_sql(
        "ALTER TABLE " + hist + " " + ", ".join(
            "ADD COLUMN IF NOT EXISTS " + q(c.name) + " " + c.type.compile(dialect=conn.dialect)
            for c in table.columns))
    conn.exec_driver_sql(
        "ALTER TABLE " + hist + " " + ", ".join("ALTER COLUMN " + q(c.name) + " DROP NOT NULL"
                                                for c in table.columns))


def _create_indexes(conn: Connection, table: sa.Table, name: str) -> None:
    """btree on (key, hist_from) (a feature's versions, closing them), BRIN on hist_from
    (versions are appended in time order: a few pages of index for any table), and a
    spatial index on the geometry (SP-GiST: the same && / ST_Intersects support as GiST,
    measured 2.5 times cheaper per inserted row). Nothing indexes hist_to, so closing a
    version is a HOT update that touches no index (see FILLFACTOR)."""
    q = lambda n: _quote(conn, n)  # noqa: E731
    hist = HISTORY_SCHEMA + "." + q(name)
    key = q(_key_column(table))
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS " + q(name + "_key_from") + " ON " + hist
                         + " (" + key + ", hist_from)")
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS " + q(name + "_from") + " ON " + hist
                         + " USING brin (hist_from)")
    if "geom" in table.c:
        conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS " + q(name + "_geom") + " ON " + hist
                             + " USING spgist (geom)")


def _create_triggers(conn: Connection, table: sa.Table, source: str) -> None:
    """The four statement-level triggers, replaced if present."""
    function = HISTORY_SCHEMA + "." + _quote(conn, "track__" + history_table_name(table))
    triggers = (("history_insert", "AFTER INSERT", "REFERENCING NEW TABLE AS new_rows"),
                ("history_update", "AFTER UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                ("history_delete", "AFTER DELETE", "REFERENCING OLD TABLE AS old_rows"),
                ("history_truncate", "BEFORE TRUNCATE", ""))
    for trigger, event, referencing in triggers:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS " + trigger + " ON " + source)
        conn.exec_driver_sql("CREATE TRIGGER " + trigger + " " + event + " ON " + source + " "
                             + referencing + " FOR EACH STATEMENT EXECUTE FUNCTION " + function + "()")


def remove_history(conn: Connection, table: sa.Table) -> None:
    """Drop `table`'s history triggers and function (its versions go with the schema)."""
    source = _quote(conn, table.schema) + "." + _quote(conn, table.name)
    for trigger in ("history_insert", "history_update", "history_delete", "history_truncate"):
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS " + trigger + " ON " + source)
    conn.exec_driver_sql("DROP FUNCTION IF EXISTS " + HISTORY_SCHEMA + "."
                         + _quote(conn, "track__" + history_table_name(table)) + "()")
