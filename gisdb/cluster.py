"""The embedded PostGIS cluster: a private PostgreSQL under `data/pg`, reached through
a Unix socket inside the data directory, so it never collides with another server.

PostgreSQL refuses to run as root; when we are root the cluster is owned by and run
as the unprivileged `postgres` system user (created by Debian's postgresql-common),
or a `gisdb` system user we create.
"""
from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from .errors import ConfigurationError, DatabaseUnavailable
from .roles import ensure_cluster_roles
from .settings import Settings

SUPERUSER = "gisdb"
PG_PORT = 5432                      # only names the socket file; TCP is off unless asked
MAX_SOCKET_PATH = 100               # sun_path is 108 bytes; keep a margin

# Tuned for a 2-core, several-GB machine serving tiles and features.
SERVER_SETTINGS = {
    "shared_buffers": "512MB",
    "effective_cache_size": "4GB",
    "work_mem": "32MB",
    "maintenance_work_mem": "512MB",
    "max_connections": "100",
    "max_worker_processes": "4",
    "max_parallel_workers": "2",
    "max_parallel_workers_per_gather": "1",
    "random_page_cost": "1.1",
    "effective_io_concurrency": "100",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "2GB",
    "checkpoint_timeout": "15min",
    "synchronous_commit": "off",
    "jit": "off",
    "log_min_duration_statement": "-1",
    "logging_collector": "off",
    "timezone": "'Asia/Ho_Chi_Minh'",
    "lc_messages": "'C'",
}


def find_pg_bin(settings: Settings) -> Path:
    """Directory holding initdb/pg_ctl/postgres (Debian's versioned layout first)."""
    candidates = [settings.pg_bin_dir] if settings.pg_bin_dir else []
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for which in ("pg_ctl",):
        found = shutil.which(which)
        if found:
            candidates.append(Path(os.path.realpath(found)).parent)
    for cand in candidates:
        if cand and (cand / "initdb").exists() and (cand / "pg_ctl").exists():
            return cand
    raise ConfigurationError(
        "PostgreSQL server binaries not found. Install Debian's postgresql-15 and "
        "postgresql-15-postgis-3 (run `make run` as root), or set GISDB_DATABASE_URL "
        "to an existing PostGIS database.")


def postgis_available(bin_dir: Path) -> bool:
    """Whether the PostGIS extension is installed for this PostgreSQL."""
    out = subprocess.run([str(bin_dir / "pg_config"), "--sharedir"], capture_output=True,
                         text=True) if (bin_dir / "pg_config").exists() else None
    share = Path(out.stdout.strip()) if out and out.returncode == 0 else None
    if share is None:
        version = bin_dir.parent.name
        share = Path(f"/usr/share/postgresql/{version}")
    return (share / "extension" / "postgis.control").exists()


def _world_traversable(path: Path) -> bool:
    """Whether every existing ancestor of `path` lets other users through (o+x)."""
    for parent in path.resolve().parents:
        if parent.exists() and not parent.stat().st_mode & 0o001:
            return False
    return True


@dataclass(frozen=True)
class Cluster:
    """Handle on the embedded cluster of one `Settings`."""

    settings: Settings

    @property
    def root(self) -> Path:
        """Where the cluster lives: `data/pg`, unless we run as root and the unprivileged
        cluster owner could not reach it (a parent directory without o+x), in which case
        a per-project directory under /var/lib/gisdb is used instead."""
        preferred = self.settings.cluster_dir
        if os.geteuid() != 0 or _world_traversable(preferred):
            return preferred
        digest = hashlib.sha1(str(preferred).encode()).hexdigest()[:12]
        return Path("/var/lib/gisdb") / digest

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    @property
    def socket_dir(self) -> Path:
        """Socket directory inside the data dir, or a short hashed one in /tmp when
        the project path is too long for a Unix socket address."""
        preferred = self.root / "run"
        if len(str(preferred / f".s.PGSQL.{PG_PORT}")) <= MAX_SOCKET_PATH:
            return preferred
        digest = hashlib.sha1(str(preferred).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"gisdb-{digest}"

    @property
    def logfile(self) -> Path:
        return self.root / "postgresql.log"

    def url(self, database: str | None = None, user: str = SUPERUSER) -> str:
        """SQLAlchemy URL of `database` (the configured one by default) as `user` (the
        superuser, which owns the schema, by default; `roles.WEB_ROLE` for the web)."""
        db = database or self.settings.database_name
        return (f"postgresql+psycopg://{quote(user)}@/{quote(db)}"
                f"?host={quote(str(self.socket_dir))}&port={PG_PORT}")

    # -- running commands as the cluster owner ---------------------------------------
    def _owner(self) -> str | None:
        """System user that owns the cluster when we are root, else None (run as self)."""
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "gisdb"):
            try:
                pwd.getpwnam(name)
                return name
            except KeyError:
                continue
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", "gisdb"], check=True)
        return "gisdb"

    def _run(self, args: list[str], **kw) -> subprocess.CompletedProcess:
        owner = self._owner()
        cmd = (["runuser", "-u", owner, "--"] + args) if owner else args
        return subprocess.run(cmd, capture_output=True, text=True, **kw)

    def _chown(self, *paths: Path) -> None:
        owner = self._owner()
        if owner:
            ent = pwd.getpwnam(owner)
            for p in paths:
                os.chown(p, ent.pw_uid, ent.pw_gid)

    # -- lifecycle -----------------------------------------------------------------------
    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def init(self) -> None:
        bin_dir = find_pg_bin(self.settings)
        if not postgis_available(bin_dir):
            raise ConfigurationError(
                "PostGIS is not installed for this PostgreSQL. Install Debian's "
                "postgresql-15-postgis-3 (or set GISDB_DATABASE_URL).")
        self.root.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        self._chown(self.root, self.pgdata)
        res = self._run([str(bin_dir / "initdb"), "-D", str(self.pgdata), "-U", SUPERUSER,
                         "--auth-local=trust", "--auth-host=scram-sha-256",
                         "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"])
        if res.returncode != 0:
            raise ConfigurationError(f"initdb failed: {res.stderr.strip()[-800:]}")
        conf = self.pgdata / "postgresql.conf"
        with conf.open("a") as fh:
            fh.write("\n# --- gisdb embedded cluster ---\n")
            for key, value in SERVER_SETTINGS.items():
                fh.write(f"{key} = {value}\n")

    def running(self) -> bool:
        if not self.initialised():
            return False
        bin_dir = find_pg_bin(self.settings)
        return self._run([str(bin_dir / "pg_ctl"), "status", "-D", str(self.pgdata)]).returncode == 0

    def start(self, timeout: float = 60, roles: bool = True) -> None:
        """Initialise if needed, start if not running, wait until it accepts, and make
        sure the roles exist (a cluster from an earlier version gets them here; not on a
        streaming standby, `roles=False`, which is read-only and has the primary's)."""
        if not self.initialised():
            self.init()
        if not self.running():
            self._start_server(timeout)
        if roles:
            self.ensure_roles()

    def run_tool(self, name: str, *args: str) -> subprocess.CompletedProcess:
        """Run PostgreSQL's program `name` (pg_basebackup, pg_ctl, ...) as the cluster's
        owner; ConfigurationError with its message when it fails."""
        res = self._run([str(find_pg_bin(self.settings) / name), *args])
        if res.returncode != 0:
            raise ConfigurationError(f"{name} failed: {res.stderr.strip()[-800:]}")
        return res

    def ensure_roles(self) -> None:
        """Create the read and web roles if missing (`gisdb.roles`), as the superuser."""
        engine = sa.create_engine(self.url("postgres"), poolclass=sa.pool.NullPool,
                                  isolation_level="AUTOCOMMIT",
                                  connect_args={"connect_timeout": 5})
        try:
            with engine.connect() as conn:
                ensure_cluster_roles(conn)
        except sa.exc.OperationalError as exc:
            raise DatabaseUnavailable("could not set up the embedded cluster's roles") from exc
        finally:
            engine.dispose()

    def _start_server(self, timeout: float) -> None:
        bin_dir = find_pg_bin(self.settings)
        sock = self.socket_dir
        sock.mkdir(parents=True, exist_ok=True)
        os.chmod(sock, 0o755)
        self._chown(sock, self.root)
        if not self.logfile.exists():
            self.logfile.touch()
        self._chown(self.logfile)
        opts = f"-c listen_addresses='' -c unix_socket_directories='{sock}'"
        if self.settings.pg_tcp_port:
            opts = (f"-c listen_addresses=127.0.0.1 -p {self.settings.pg_tcp_port} "
                    f"-c unix_socket_directories='{sock}'")
        (self.pgdata / "postmaster.pid").exists() and self._remove_stale_pid(bin_dir)
        res = self._run([str(bin_dir / "pg_ctl"), "start", "-D", str(self.pgdata), "-w",
                         "-t", str(int(timeout)), "-l", str(self.logfile), "-o", opts])
        if res.returncode != 0:
            tail = self.logfile.read_text(errors="replace")[-1500:] if self.logfile.exists() else ""
            raise DatabaseUnavailable(f"could not start the embedded PostgreSQL: "
                                      f"{res.stderr.strip()[-500:]}\n{tail}")
        self._wait_ready(bin_dir, timeout)

    def _remove_stale_pid(self, bin_dir: Path) -> None:
        """A pid file left by a killed server whose process is gone blocks a start."""
        pidfile = self.pgdata / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            pidfile.unlink(missing_ok=True)
        except (PermissionError, FileNotFoundError):
            pass

    def _wait_ready(self, bin_dir: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok = subprocess.run([str(bin_dir / "pg_isready"), "-h", str(self.socket_dir),
                                 "-p", str(PG_PORT), "-U", SUPERUSER, "-d", "postgres"],
                                capture_output=True)
            if ok.returncode == 0:
                return
            time.sleep(0.2)
        raise DatabaseUnavailable("the embedded PostgreSQL did not become ready in time")

    def stop(self) -> None:
        if not self.running():
            return
        bin_dir = find_pg_bin(self.settings)
        res = self._run([str(bin_dir / "pg_ctl"), "stop", "-D", str(self.pgdata), "-m", "fast", "-w"])
        if res.returncode != 0:
            raise DatabaseUnavailable(f"could not stop the embedded PostgreSQL: {res.stderr.strip()}")

    def status(self) -> dict:
        return {"initialised": self.initialised(), "running": self.running(),
                "data_directory": str(self.pgdata), "socket_directory": str(self.socket_dir),
                "url": self.url()}
