"""Webhook subscriptions (`meta.hooks`) and their dead letters (`meta.hook_dead_letters`):
what `gisdb hooks add|list|remove|dead|retry` change and what the delivery worker
(gisdb.feed.delivery) reads. Each hook has a cursor, a position in the feed
(gisdb.feed.token.Position), moved only after its receiver accepted a batch: delivery is
at least once, with the same change ids, in commit order.

URLs are the city's to choose (internal systems included, so private addresses are
allowed), but must be plain http(s) URLs with a host and without credentials; what is
shown or logged of a URL stops at its path (`shown_url`)."""
from __future__ import annotations

import secrets
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gisdb.errors import InvalidParameter, NotFound

from .token import Position

MAX_URL_CHARS = 2000

HOOKS_DDL = """
CREATE TABLE IF NOT EXISTS meta.hooks (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  url text NOT NULL,
  layers text[] NOT NULL,
  secret text NOT NULL,
  commit_seq bigint NOT NULL DEFAULT 0,
  change_id bigint NOT NULL DEFAULT 0,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error text,
  delivered bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS meta.hook_dead_letters (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  hook_id bigint NOT NULL REFERENCES meta.hooks (id) ON DELETE CASCADE,
  delivery text NOT NULL,
  body text NOT NULL,
  n_changes integer NOT NULL,
  attempts integer NOT NULL,
  last_error text,
  failed_at timestamptz NOT NULL DEFAULT now());
"""

_META = sa.MetaData()
HOOKS = sa.Table("hooks", _META,
                 sa.Column("id", sa.BigInteger, primary_key=True),
                 sa.Column("url", sa.Text), sa.Column("layers", sa.ARRAY(sa.Text)),
                 sa.Column("secret", sa.Text), sa.Column("commit_seq", sa.BigInteger),
                 sa.Column("change_id", sa.BigInteger), sa.Column("attempts", sa.Integer),
                 sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
                 sa.Column("last_error", sa.Text), sa.Column("delivered", sa.BigInteger),
                 sa.Column("created_at", sa.DateTime(timezone=True)), schema="meta")
DEAD = sa.Table("hook_dead_letters", _META,
                sa.Column("id", sa.BigInteger, primary_key=True),
                sa.Column("hook_id", sa.BigInteger), sa.Column("delivery", sa.Text),
                sa.Column("body", sa.Text), sa.Column("n_changes", sa.Integer),
                sa.Column("attempts", sa.Integer), sa.Column("last_error", sa.Text),
                sa.Column("failed_at", sa.DateTime(timezone=True)), schema="meta")


def install_hooks(conn: Connection) -> None:
    """Create the hook tables (idempotent; the owner's only, the web never reads them)."""
    conn.exec_driver_sql(HOOKS_DDL)


def check_url(url: str) -> str:
    """The URL if it is a plain http(s) URL with a host and no credentials."""
    if not url or len(url) > MAX_URL_CHARS or not url.isascii() or any(
            ch.isspace() or ord(ch) < 32 for ch in url):
        raise InvalidParameter("a hook URL is an http:// or https:// URL of printable ASCII "
                               "(percent-encode anything else)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidParameter("the hook URL cannot be read (host or port)") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidParameter("a hook URL must start with http:// or https:// and name a host")
    if parts.username is not None or parts.password is not None:
        raise InvalidParameter("no credentials in a hook URL: receivers check the signature "
                               "made with the hook's secret instead")
    if port == 0:
        raise InvalidParameter("the hook URL's port must be 1-65535")
    return url


def shown_url(url: str) -> str:
    """The URL as shown and logged: scheme, host, port and path, never the query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?…" if parts.query else "")


def add_hook(conn: Connection, url: str, layers: list[str], secret: str | None,
             start: Position) -> tuple[int, str]:
    """(id, secret) of a new hook that delivers the changes after `start`."""
    secret = secret or secrets.token_urlsafe(32)
    if len(secret) < 16:
        raise InvalidParameter("a hook secret has at least 16 characters")
    hook_id = conn.execute(sa.insert(HOOKS).values(
        url=check_url(url), layers=list(layers), secret=secret, commit_seq=start.commit_seq,
        change_id=start.change_id).returning(HOOKS.c.id)).scalar_one()
    return hook_id, secret


def list_hooks(conn: Connection) -> list[dict]:
    """Every hook with its cursor, state and number of dead letters (no secret)."""
    dead = (sa.select(sa.func.count()).where(DEAD.c.hook_id == HOOKS.c.id).scalar_subquery())
    cols = [c for c in HOOKS.c if c.name != "secret"]
    rows = conn.execute(sa.select(*cols, dead.label("dead")).order_by(HOOKS.c.id)).mappings()
    return [dict(r, url=shown_url(r["url"])) for r in rows]


def remove_hook(conn: Connection, hook_id: int) -> None:
    """Delete a hook and its dead letters."""
    if conn.execute(sa.delete(HOOKS).where(HOOKS.c.id == hook_id)).rowcount == 0:
        raise NotFound(f"no hook {hook_id}")


def dead_letters(conn: Connection, hook_id: int | None = None) -> list[dict]:
    """The dead letters (batches given up on), oldest first, without their bodies."""
    stmt = sa.select(*[c for c in DEAD.c if c.name != "body"]).order_by(DEAD.c.id)
    if hook_id is not None:
        stmt = stmt.where(DEAD.c.hook_id == hook_id)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def make_due(conn: Connection, hook_id: int) -> None:
    """Let a hook in back-off try again at once."""
    if conn.execute(sa.update(HOOKS).where(HOOKS.c.id == hook_id)
                    .values(next_attempt_at=sa.func.now())).rowcount == 0:
        raise NotFound(f"no hook {hook_id}")
