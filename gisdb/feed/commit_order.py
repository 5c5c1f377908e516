"""Commit order for the change log, in the database.

`history.changes` (branch history) numbers rows by identity, which is start order, not
commit order: a transaction that began first may commit last. The feed therefore
numbers *transactions* at commit time:

- the first change of a transaction (a statement-level trigger on `history.changes`)
  records its xid in `meta.feed_commits` with no number yet;
- a DEFERRABLE INITIALLY DEFERRED constraint trigger on that row runs at commit, takes
  one transaction-scoped advisory lock, draws `commit_seq` from a sequence and sends a
  NOTIFY (delivered on commit only). The lock is released after the commit is visible,
  so the next committer draws a larger number only once this one can be seen: a reader
  that sees number n sees every number below n that will ever be seen.

A rolled-back or killed transaction leaves neither its changes nor its row. The
functions are SECURITY DEFINER (owned by the schema owner), so writers need no right
on these tables. They live in `meta` (the history schema holds the history alone);
`meta.feed_horizon` holds the tokens' key (`epoch`, random
per database) and the position up to which the feed was pruned."""
from __future__ import annotations

from sqlalchemy.engine import Connection

NOTIFY_CHANNEL = "gisdb_feed"
# pg_advisory_xact_lock key of the commit numbering (a constant of this project).
COMMIT_LOCK_KEY = 7_314_922_041

FEED_DDL = f"""
CREATE TABLE IF NOT EXISTS meta.feed_commits (
  xid xid8 PRIMARY KEY,
  commit_seq bigint UNIQUE,
  committed_at timestamptz);
CREATE SEQUENCE IF NOT EXISTS meta.feed_commit_seq;
CREATE TABLE IF NOT EXISTS meta.feed_horizon (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  epoch uuid NOT NULL DEFAULT gen_random_uuid(),
  pruned_seq bigint NOT NULL DEFAULT 0,
  pruned_change bigint NOT NULL DEFAULT 0);
INSERT INTO meta.feed_horizon DEFAULT VALUES ON CONFLICT DO NOTHING;
CREATE INDEX IF NOT EXISTS changes_xid_change ON history.changes (xid, change_id);

CREATE OR REPLACE FUNCTION meta.feed_note_transaction() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  INSERT INTO meta.feed_commits (xid) VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
  RETURN NULL;
END $fn$;

CREATE OR REPLACE FUNCTION meta.feed_stamp_commit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  v_seq bigint;
BEGIN
  PERFORM pg_advisory_xact_lock({COMMIT_LOCK_KEY});
  v_seq := nextval('meta.feed_commit_seq');
  UPDATE meta.feed_commits SET commit_seq = v_seq, committed_at = clock_timestamp()
  WHERE xid = NEW.xid;
  PERFORM pg_notify('{NOTIFY_CHANNEL}', v_seq::text);
  RETURN NULL;
END $fn$;

DROP TRIGGER IF EXISTS feed_note ON history.changes;
CREATE TRIGGER feed_note AFTER INSERT ON history.changes
  FOR EACH STATEMENT EXECUTE FUNCTION meta.feed_note_transaction();
DROP TRIGGER IF EXISTS feed_stamp ON meta.feed_commits;
CREATE CONSTRAINT TRIGGER feed_stamp AFTER INSERT ON meta.feed_commits
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION meta.feed_stamp_commit();
"""

DROP_DDL = """
DROP TRIGGER IF EXISTS feed_note ON history.changes;
DROP TABLE IF EXISTS meta.feed_commits, meta.feed_horizon;
DROP SEQUENCE IF EXISTS meta.feed_commit_seq;
DROP FUNCTION IF EXISTS meta.feed_note_transaction(), meta.feed_stamp_commit();
DROP INDEX IF EXISTS history.changes_xid_change;
"""

# What the web's read role reads: the change log and the version tables (the feature of
# each change), the commit numbers and the horizon.
READ_GRANTS = """
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gisdb_reader') THEN
    GRANT USAGE ON SCHEMA history, meta TO gisdb_reader;
    GRANT SELECT ON ALL TABLES IN SCHEMA history TO gisdb_reader;
    GRANT SELECT ON meta.feed_commits, meta.feed_horizon TO gisdb_reader;
  END IF;
END $$;
"""


def install_feed(conn: Connection) -> None:
    """Create the commit numbering, its triggers and the horizon (idempotent), and let
    the read role read the history schema."""
    conn.exec_driver_sql(FEED_DDL)
    conn.exec_driver_sql(READ_GRANTS)


def remove_feed(conn: Connection) -> None:
    """Drop what `install_feed` created (the change log itself stays)."""
    conn.exec_driver_sql(DROP_DDL)
