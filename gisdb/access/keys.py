"""API keys: `gdk_` + 43 random URL-safe characters (256 bits, `secrets.token_urlsafe`).

Stored: the lookup prefix (the first 10 characters after `gdk_`, unique) and
HMAC-SHA256(salt, key) with a random 16-byte salt per key. A key is as strong as a
256-bit secret, so a slow password hash (scrypt, argon2) would add nothing against
guessing and cost milliseconds per verification; the salt keeps equal digests from
revealing anything across databases. The key itself is printed once and kept nowhere.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gisdb.errors import InvalidParameter, NotFound

from .tables import ApiKey, User

KEY_PREFIX = "gdk_"
LOOKUP_CHARS = 10
KEYS = ApiKey.__table__


@dataclass(frozen=True)
class KeyOwner:
    """What a valid key says: its name, its user and when it was last marked used."""

    key_name: str
    user_name: str
    last_used_at: dt.datetime | None


def digest_of(salt: bytes, key: str) -> bytes:
    """The stored digest of `key`: HMAC-SHA256 keyed by the key's salt."""
    return hmac.new(salt, key.encode(), hashlib.sha256).digest()


def lookup_prefix(key: str) -> str | None:
    """The lookup prefix of a well-formed key, else None."""
    body = key[len(KEY_PREFIX):]
    if not key.startswith(KEY_PREFIX) or len(body) < 32 or not body.isascii():
        return None
    return body[:LOOKUP_CHARS]


def create_key(conn: Connection, name: str, user: str,
               expires: dt.datetime | None = None) -> str:
    """Store a new key `name` for `user`; returns the key (shown once, never stored)."""
    if conn.execute(sa.select(User.name).where(User.name == user)).first() is None:
        raise NotFound(f"no user named {user!r} (gisdb users add {user})")
    if conn.execute(sa.select(KEYS.c.name).where(KEYS.c.name == name)).first() is not None:
        raise InvalidParameter(f"a key named {name!r} exists already")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    conn.execute(sa.insert(KEYS).values(
        name=name, user_name=user, prefix=lookup_prefix(key), salt=salt,
        digest=digest_of(salt, key), expires_at=expires))
    return key


def find_key(conn: Connection, key: str) -> KeyOwner | None:
    """The owner of `key` when it is known, not revoked and not expired, else None."""
    prefix = lookup_prefix(key)
    if prefix is None:
        return None
    row = conn.execute(sa.select(KEYS).where(
        KEYS.c.prefix == prefix, KEYS.c.revoked_at.is_(None),
        sa.or_(KEYS.c.expires_at.is_(None), KEYS.c.expires_at > sa.func.now()))).first()
    if row is None or not hmac.compare_digest(bytes(row.digest), digest_of(bytes(row.salt), key)):
        return None
    return KeyOwner(row.name, row.user_name, row.last_used_at)


def list_keys(conn: Connection) -> list[dict]:
    """Every key (never a secret): name, user, prefix, created, expires, revoked, last used."""
    rows = conn.execute(sa.select(
        KEYS.c.name, KEYS.c.user_name, KEYS.c.prefix, KEYS.c.created_at, KEYS.c.expires_at,
        KEYS.c.revoked_at, KEYS.c.last_used_at).order_by(KEYS.c.name)).mappings()
    return [dict(row) for row in rows]


def revoke_key(conn: Connection, name: str) -> None:
    """Revoke key `name` (kept in the list, refused from now on)."""
    done = conn.execute(sa.update(KEYS).where(KEYS.c.name == name, KEYS.c.revoked_at.is_(None))
                        .values(revoked_at=sa.func.now()))
    if done.rowcount == 0:
        raise NotFound(f"no active key named {name!r}")


TOUCH_FUNCTION_DDL = """
CREATE OR REPLACE FUNCTION meta.touch_api_key(key_name text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  UPDATE meta.api_keys SET last_used_at = now()
  WHERE name = key_name AND (last_used_at IS NULL OR last_used_at < now() - interval '5 minutes')
$$;
REVOKE ALL ON FUNCTION meta.touch_api_key(text) FROM PUBLIC;
"""


def touch_key(conn: Connection, key_name: str) -> None:
    """Mark a key used now (the database keeps at most one update per key per 5 minutes);
    through a function owned by the schema's owner, so the web's role needs no UPDATE."""
    conn.execute(sa.text("SELECT meta.touch_api_key(:n)"), {"n": key_name})
