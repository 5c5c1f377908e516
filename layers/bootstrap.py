"""Getting a database ready to serve: start the embedded cluster when there is one,
create the database, apply migrations, and load the sample city on the first run only."""
from __future__ import annotations

from typing import Callable

import sqlalchemy as sa

from gisdb.cluster import Cluster
from gisdb.database import ensure_database
from gisdb.engine import make_engine
from gisdb.meta_state import has_state
from gisdb.settings import Settings

from .sample.load import BOOTSTRAP_KEY
from .schema import migrate


def sample_loaded(conn: sa.Connection) -> bool:
    """Whether the sample city was loaded here before (the loader records it)."""
    return has_state(conn, BOOTSTRAP_KEY)


def prepare(settings: Settings, *, load_sample: bool = True,
            say: Callable[[str], None] = print) -> str:
    """Make the configured database ready; returns a one-line summary."""
    if settings.embedded:
        Cluster(settings).start()
    ensure_database(settings)
    engine = make_engine(settings, timeout_ms=settings.import_statement_timeout_ms,
                         application_name="gisdb-setup")
    try:
        revision = migrate(engine)
        with engine.connect() as conn:
            already = sample_loaded(conn)
        if load_sample and not already:
            from .planning.violations import refresh_everywhere
            from .sample import load_sample_city
            say(f"Loading the sample city (scale {settings.sample_scale}) on first run...")
            counts = load_sample_city(engine, scale=settings.sample_scale, seed=1, progress=True)
            refresh_everywhere(engine)
            return f"schema at {revision}; sample city loaded ({sum(counts.values())} features)"
        return f"schema at {revision}; data kept" + (" (sample city already loaded)" if already else "")
    finally:
        engine.dispose()
