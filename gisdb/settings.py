"""Every setting of the system, read from the environment in one place.

Nothing here runs at import time: callers build a `Settings` with `Settings.from_env()`
(or pass overrides in tests) and hand it down.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def _switch(env: dict, name: str) -> bool:
    """An on/off setting (off when unset): on, true, yes, 1 / off, false, no, 0."""
    raw = (env.get(name) or "off").strip().lower()
    if raw in ("on", "true", "yes", "1"):
        return True
    if raw in ("off", "false", "no", "0"):
        return False
    raise ValueError(f"{name} must be on or off, got {raw!r}")


def _names(raw: str | None) -> tuple[str, ...]:
    """A comma-separated list, lower-cased, without blanks."""
    return tuple(part.strip().lower() for part in (raw or "").split(",") if part.strip())


def _urls(raw: str | None) -> tuple[str, ...]:
    """A comma-separated list of database URLs, in order, without blanks: split only at
    a comma that starts another URL (`scheme://`), so libpq's multi-host form inside one
    URL (`host=a,b&port=5432,5432`) stays whole."""
    parts = re.split(r",(?=\s*[A-Za-z][A-Za-z0-9+.-]*://)", raw or "")
    return tuple(part.strip() for part in parts if part.strip())


def _seconds(env: dict, name: str, default: float) -> float:
    """A duration in seconds (a decimal number, not negative)."""
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from exc
    if not value >= 0:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}")
    return value


@dataclass(frozen=True)
class Settings:
    """Configuration of one process (server, command line or test run)."""

    data_dir: Path = PROJECT_ROOT / "data"
    database_url: str | None = None          # GISDB_DATABASE_URL: use an existing PostGIS
    web_database_url: str | None = None      # GISDB_WEB_DATABASE_URL: the web's read role
    read_only: bool = False                  # connect as the web's read role (see for_web)
    database_name: str = "gisdb"             # name of the database in the embedded cluster
    pg_bin_dir: Path | None = None           # where initdb/pg_ctl live (auto-detected)
    pg_tcp_port: int | None = None           # embedded cluster also listens on 127.0.0.1:PORT
    host: str = "127.0.0.1"
    port: int = 5000
    statement_timeout_ms: int = 15000        # every request and import statement
    import_statement_timeout_ms: int = 600000
    pool_size: int = 4
    pool_max_overflow: int = 4
    tile_cache_mb: int = 512
    sample_scale: int = 1                    # scale of the sample city loaded on first run
    max_body_bytes: int = 1_048_576          # request bodies, enforced while streaming (413)
    request_timeout_ms: int = 15000          # deadline of a whole web request (all statements)
    heavy_requests: int = 4                  # heavy requests a process runs at once (serve: threads-1)
    public_url: str | None = None            # GISDB_PUBLIC_URL: links are built from it
    trusted_hosts: tuple[str, ...] = ()      # GISDB_TRUSTED_HOSTS: Host headers accepted
    writes: bool = False                     # GISDB_WRITES: on lets credentials edit layers
    write_database_url: str | None = None    # GISDB_WRITE_DATABASE_URL: the write role's
    oidc_issuer: str | None = None           # GISDB_OIDC_ISSUER: OpenID Connect issuer
    oidc_audience: str | None = None         # GISDB_OIDC_AUDIENCE: expected `aud`
    oidc_jwks_url: str | None = None         # GISDB_OIDC_JWKS_URL (default: discovery)
    oidc_roles_claim: str = "groups"         # GISDB_OIDC_ROLES_CLAIM: the groups claim
    max_streams: int = 8                     # GISDB_MAX_STREAMS: live change streams per process
    job_workers: int = 2                     # GISDB_JOB_WORKERS: job threads per app process
    job_timeout_ms: int = 600000             # GISDB_JOB_TIMEOUT_MS: statement timeout of jobs
    job_keep_days: int = 30                  # GISDB_JOB_KEEP_DAYS: ended jobs kept (0: for ever)
    read_urls: tuple[str, ...] = ()          # GISDB_READ_URL: streaming replicas for reads
    max_replica_lag_s: float = 5.0           # GISDB_MAX_REPLICA_LAG: seconds, then out of rotation
    replica_wait_ms: int = 500               # GISDB_REPLICA_WAIT_MS: read-your-writes wait
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict | None = None, **overrides) -> "Settings":
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("GISDB_DATA_DIR") or (PROJECT_ROOT / "data")).resolve()
        tcp = env.get("GISDB_PG_TCP_PORT")
        settings = cls(
            data_dir=data_dir,
            database_url=env.get("GISDB_DATABASE_URL") or None,
            web_database_url=env.get("GISDB_WEB_DATABASE_URL") or None,
            database_name=env.get("GISDB_DATABASE_NAME", "gisdb"),
            pg_bin_dir=Path(env["GISDB_PG_BIN"]) if env.get("GISDB_PG_BIN") else None,
            pg_tcp_port=int(tcp) if tcp else None,
            host=env.get("GISDB_HOST", "127.0.0.1"),
            port=_int(env, "GISDB_PORT", 5000),
            statement_timeout_ms=_int(env, "GISDB_STATEMENT_TIMEOUT_MS", 15000),
            import_statement_timeout_ms=_int(env, "GISDB_IMPORT_TIMEOUT_MS", 600000),
            pool_size=_int(env, "GISDB_POOL_SIZE", 4),
            pool_max_overflow=_int(env, "GISDB_POOL_MAX_OVERFLOW", 4),
            tile_cache_mb=_int(env, "GISDB_TILE_CACHE_MB", 512),
            sample_scale=_int(env, "GISDB_SAMPLE_SCALE", 1),
            max_body_bytes=_int(env, "GISDB_MAX_BODY_BYTES", 1_048_576),
            request_timeout_ms=_int(env, "GISDB_REQUEST_TIMEOUT_MS", 15000),
            heavy_requests=_int(env, "GISDB_HEAVY_REQUESTS", 4),
            public_url=(env.get("GISDB_PUBLIC_URL") or "").rstrip("/") or None,
            trusted_hosts=_names(env.get("GISDB_TRUSTED_HOSTS")),
            writes=_switch(env, "GISDB_WRITES"),
            write_database_url=env.get("GISDB_WRITE_DATABASE_URL") or None,
            oidc_issuer=(env.get("GISDB_OIDC_ISSUER") or "").rstrip("/") or None,
            oidc_audience=env.get("GISDB_OIDC_AUDIENCE") or None,
            oidc_jwks_url=env.get("GISDB_OIDC_JWKS_URL") or None,
            oidc_roles_claim=env.get("GISDB_OIDC_ROLES_CLAIM") or "groups",
            max_streams=_int(env, "GISDB_MAX_STREAMS", 8),
            job_workers=_int(env, "GISDB_JOB_WORKERS", 2),
            job_timeout_ms=_int(env, "GISDB_JOB_TIMEOUT_MS", 600000),
            job_keep_days=_int(env, "GISDB_JOB_KEEP_DAYS", 30),
            read_urls=_urls(env.get("GISDB_READ_URL")),
            max_replica_lag_s=_seconds(env, "GISDB_MAX_REPLICA_LAG", 5.0),
            replica_wait_ms=_int(env, "GISDB_REPLICA_WAIT_MS", 500),
        )
        return replace(settings, **overrides) if overrides else settings

    @property
    def embedded(self) -> bool:
        """True when the project runs its own PostGIS cluster under `data_dir`."""
        return not self.database_url

    @property
    def cluster_dir(self) -> Path:
        return self.data_dir / "pg"

    @property
    def tile_cache_dir(self) -> Path:
        return self.data_dir / "tile-cache"

    @property
    def raster_dir(self) -> Path:
        return self.data_dir / "rasters"

    def with_database(self, url: str) -> "Settings":
        return replace(self, database_url=url)

    def for_web(self) -> "Settings":
        """These settings as the web app uses them: engines connect as the read role
        (`gisdb.engine.web_database_url`) in read-only sessions, so a hole in a request
        handler cannot write, create or read server files."""
        return replace(self, read_only=True)
