"""A real streaming replica for the scale-out tests: a small primary cluster of the tests'
own (replica-level WAL, so the shared test cluster keeps its fast `minimal` WAL and is
never stopped), a migrated database on it, and a standby made by `pg_basebackup -R` in a
second data directory with its own socket."""
from __future__ import annotations

import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa

from gisdb.cluster import PG_PORT, Cluster
from gisdb.database import create_database, web_url_of, write_url_of
from gisdb.engine import make_engine
from gisdb.replicas.standby import create_standby, enable_replication
from gisdb.roles import WEB_ROLE
from gisdb.settings import Settings
from layers.schema import migrate
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
                "&target_session_attrs=primary")

    def app(self, data_dir: Path, **overrides):
        """A write-enabled app on the primary with the standby as its read replica."""
        settings = replace(self.settings, writes=True, read_urls=(self.replica_url(),),
                           data_dir=data_dir, **overrides)
        return create_app({"TESTING": True, "SETTINGS": settings})


def _migrated(primary: Cluster, data_dir: Path) -> Settings:
    """Settings of a fresh migrated database on `primary` (owner, read and write roles).
    Never dropped: the clusters themselves are thrown away."""
    name = "gisdb_repl"
    url = create_database(primary.settings, name)
    settings = replace(primary.settings, database_url=url,
                       web_database_url=web_url_of(primary.settings, name),
                       write_database_url=write_url_of(primary.settings, name), data_dir=data_dir)
    engine = make_engine(settings, pool_size=1)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return settings


@contextmanager
def replicated(tmp: Path) -> Iterator[Replicated]:
    """A primary + streaming standby with a migrated database; both stopped and their
    directories removed afterwards."""
    primary = Cluster(Settings(data_dir=tmp / "primary"))
    standby = Cluster(Settings(data_dir=tmp / "standby"))
    try:
        primary.init()
        enable_replication(primary)
        primary.start()
        enable_replication(primary)
        settings = _migrated(primary, tmp / "app")
        create_standby(primary, standby)
        yield Replicated(primary, standby, settings, "gisdb_repl")
    finally:
        for cluster in (standby, primary):
            cluster.stop()
            shutil.rmtree(cluster.root, ignore_errors=True)


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
