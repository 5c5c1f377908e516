"""Credentials for tests: a user with a grant and a fresh API key, in one call."""
from __future__ import annotations

import uuid

import sqlalchemy as sa

from gisdb.access.grants import add_user, grant
from gisdb.access.keys import create_key
from layers.layer import GROUPS
from layers.registry import layer_ids


def make_key(engine_or_url, user: str, role: str, layers="*") -> str:
    """Create `user` (when missing) with `role` on `layers` ("*", a group, a layer id, a
    comma-separated string or a list) and return a new API key for it."""
    engine = sa.create_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    targets = [layers] if layers in ("*", *GROUPS) else (
        layers.split(",") if isinstance(layers, str) else list(layers))
    try:
        with engine.begin() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM meta.users WHERE name = :n"),
                                  {"n": user}).first()
            if exists is None:
                add_user(conn, user)
            grant(conn, user, targets, role, [*layer_ids(), *GROUPS])
            return create_key(conn, f"{user}-{uuid.uuid4().hex[:8]}", user)
    finally:
        if engine is not engine_or_url:
            engine.dispose()
