"""Fresh, migrated databases for test sessions and modules (one place, used by the
shared fixtures and by the modules that need data of their own)."""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from gisdb.database import create_database, drop_database, web_url_of, write_url_of
from gisdb.engine import make_engine
from gisdb.settings import Settings
from layers.schema import migrate


@contextmanager
def migrated_database(base: Settings, prefix: str, data_dir: Path) -> Iterator[Settings]:
    """Create `prefix_<pid>_<random>` beside the configured database, migrate it, yield
    settings pointing at it (the owner's URL, and the read and write roles' that the app
    uses, as when served), with `data_dir`, and drop it afterwards."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = create_database(base, name)
    try:
        settings = replace(base, database_url=url, web_database_url=web_url_of(base, name),
                           write_database_url=write_url_of(base, name),
                           data_dir=data_dir, statement_timeout_ms=15000)
        engine = make_engine(settings, pool_size=1)
        try:
            migrate(engine)
        finally:
            engine.dispose()
        yield settings
    finally:
        drop_database(base, name)
