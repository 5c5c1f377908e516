"""A streaming standby of the embedded cluster, with PostgreSQL's own tools: the primary
writes replica-level WAL and accepts a replication role; `pg_basebackup -R` copies it
into a second data directory (with its own socket) that follows it; `pg_ctl promote`
makes that standby the primary after a failover. Used by the replica tests and for a
replica on the same machine; a replica elsewhere is built the same way by a DBA."""
from __future__ import annotations

import sqlalchemy as sa

from ..cluster import PG_PORT, Cluster

REPLICATION_ROLE = "gisdb_replicator"
REPLICATION_SETTINGS = {
    "wal_level": "replica",          # the embedded default is minimal: no standby can follow
    "max_wal_senders": "4",
    "wal_keep_size": "'256MB'",      # a standby that falls behind a while can catch up
    "hot_standby": "on",
    "wal_receiver_status_interval": "1s",
}
_MARK = "# --- gisdb replication ---"


def enable_replication(primary: Cluster) -> None:
    """Let standbys follow `primary`: replica-level WAL (the settings take effect at its
    next start: call this before `start`, or restart it) and a replication role (while
    it runs). The local `replication` lines of initdb's pg_hba.conf let it in."""
    conf = primary.pgdata / "postgresql.conf"
    text = conf.read_text()
    if _MARK not in text:
        lines = [f"{key} = {value}" for key, value in REPLICATION_SETTINGS.items()]
        conf.write_text(text + "\n" + _MARK + "\n" + "\n".join(lines) + "\n")
    if primary.running():
        engine = sa.create_engine(primary.url("postgres"), poolclass=sa.pool.NullPool,
                                  isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            if not conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"),
                                {"r": REPLICATION_ROLE}).scalar():
                conn.exec_driver_sql("CREATE ROLE " + REPLICATION_ROLE + " LOGIN REPLICATION")
        engine.dispose()


def create_standby(primary: Cluster, standby: Cluster) -> None:
    """Copy the running `primary` into `standby`'s data directory with `pg_basebackup
    -R` (a standby that streams from it through its socket), and start it."""
    standby.root.mkdir(parents=True, exist_ok=True)
    standby.pgdata.mkdir(mode=0o700, exist_ok=True)
    standby._chown(standby.root, standby.pgdata)
    primary.run_tool("pg_basebackup", "-D", str(standby.pgdata), "-R", "-X", "stream",
                     "-c", "fast", "-h", str(primary.socket_dir), "-p", str(PG_PORT),
                     "-U", REPLICATION_ROLE, "-d", f"application_name={standby.root.name}")
    standby.start(roles=False)


def promote(standby: Cluster) -> None:
    """Make `standby` a primary (`pg_ctl promote`, waiting until it accepts writes)."""
    standby.run_tool("pg_ctl", "promote", "-w", "-D", str(standby.pgdata))
