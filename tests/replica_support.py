"""A real streaming replica for the scale-out tests: a small primary cluster of the tests'
own (replica-level WAL, so the shared test cluster keeps its fast `minimal` WAL and is
never stopped), a migrated database on it, and a standby made by `pg_basebackup -R` in a
second data directory with its own socket."""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import sqlalchemy as sa

from fresh_databases import migrated_database
from gisdb.cluster import PG_PORT, Cluster
from gisdb.roles import WEB_ROLE
from gisdb.settings import Settings
from webmap.app import create_app


@dataclass
class Replicated:
    """The primary and standby clusters, the database's settings, and its name."""

    primary: Cluster
    standby: Cluster
    settings: Settings
    name: str

    def replica_url(self) -> str:
        """The web's read role on the standby."""
        return self.standby.url(self.name, user=WEB_ROLE)

    def superuser(self, cluster: Cluster) -> sa.Engine:
        """An autocommit superuser engine on `cluster` (pausing replay, reading WAL)."""
        return sa.create_engine(cluster.url(self.name), isolation_level="AUTOCOMMIT",
                                poolclass=sa.pool.NullPool)

    def both_hosts(self, user: str = WEB_ROLE) -> str:
        """The database on whichever of the two servers accepts writes (libpq's
        multi-host URL): what GISDB_DATABASE_URL is set to for failover."""
        hosts = "&".join(f"host={c.socket_dir}:{PG_PORT}" for c in (self.primary, self.standby))
        return (f"postgresql+psycopg://{user}@/{self.name}?{hosts}"
                "&target_session_attrs=read-write")

    def app(self, data_dir: Path, **overrides):
        """A write-enabled app on the primary with the standby as its read replica."""
        settings = replace(self.settings, writes=True, read_urls=(self.replica_url(),),
                           data_dir=data_dir, **overrides)
        return create_app({"TESTING": True, "SETTINGS": settings})


def replicated(tmp: Path):
    """Context manager: a primary + streaming standby with a migrated database."""
    from contextlib import contextmanager

    from gisdb.replicas.standby import create_standby, enable_replication

    @contextmanager
    def running():
        primary = Cluster(Settings(data_dir=tmp / "primary"))
        standby = Cluster(Settings(data_dir=tmp / "standby"))
        primary.init()
        enable_replication(primary)
        primary.start()
        enable_replication(primary)
        try:
            with migrated_database(primary.settings, "gisdb_repl", tmp / "app") as settings:
                name = sa.engine.make_url(settings.database_url).database
                create_standby(primary, standby)
                yield Replicated(primary, standby, settings, name)
        finally:
            for cluster in (standby, primary):
                try:
                    cluster.stop()
                except Exception:           # a cluster a test stopped already
                    pass
    return running()


def pause_replay(rep: Replicated, paused: bool) -> None:
    """Pause (or resume) WAL replay on the standby: a replica that lags on purpose."""
    engine = rep.superuser(rep.standby)
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT pg_wal_replay_pause()" if paused else
                             "SELECT pg_wal_replay_resume()")
    engine.dispose()


def wait_until(check, within_s: float = 20, every_s: float = 0.1):
    """The first truthy value of `check()` within `within_s` (AssertionError after)."""
    deadline = time.monotonic() + within_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        time.sleep(every_s)
