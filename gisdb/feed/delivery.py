"""Delivering the feed to webhooks: signed POSTs of JSON batches, retries with
exponential back-off, dead letters after the last attempt.

- A batch is `{"hook", "delivery", "changes": [...], "next"}` (the changes as the feed
  pages give them). Headers: `X-Gisdb-Delivery` (the batch's id), `X-Gisdb-Timestamp`
  (Unix seconds) and `X-Gisdb-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>"
  under the hook's secret>`; a receiver recomputes it and may refuse old timestamps.
- A 2xx moves the hook's cursor past the batch; anything else (status, refused
  connection, timeout) counts an attempt and waits `backoff * 2**(attempts-1)` seconds
  (at most `MAX_BACKOFF_S`); after `max_attempts` the batch becomes a dead letter and the
  cursor moves on, so one poisoned batch does not stop the hook.
- Several workers (`gisdb hooks run` on several nodes) never send one hook's batch twice
  at once: a worker holds the hook's row (`FOR UPDATE SKIP LOCKED`) while it delivers.
- Redirects are not followed, and nothing of a URL past its path is logged."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gisdb.errors import NotFound

from . import token as tokens
from .hooks import DEAD, HOOKS, shown_url
from .log import horizon
from .token import Position

MAX_BACKOFF_S = 3600.0
USER_AGENT = "gisdb-hooks/1"


@dataclass(frozen=True)
class Policy:
    """How the worker delivers: batch size, attempts, back-off, HTTP timeout."""

    batch: int = 100
    max_attempts: int = 8
    backoff_s: float = 10.0
    timeout_s: float = 10.0


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Gisdb-Signature` value of a body sent at `timestamp`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def post(url: str, secret: str, delivery: str, body: bytes, timeout_s: float) -> str | None:
    """POST a signed body; None when the receiver accepted it (2xx), else why not."""
    stamp = str(int(time.time()))
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": USER_AGENT,
        "X-Gisdb-Delivery": delivery, "X-Gisdb-Timestamp": stamp,
        "X-Gisdb-Signature": signature(secret, stamp, body)})
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{shown_url(url)}: {type(reason).__name__}: {str(reason)[:200]}"
    return None if 200 <= status < 300 else f"{shown_url(url)}: HTTP {status}"


def _due_hook(conn: Connection, skip: list[int]):
    """A due hook no other worker holds, locked for this transaction."""
    return conn.execute(
        sa.select(HOOKS).where(HOOKS.c.next_attempt_at <= sa.func.now(),
                               HOOKS.c.id.not_in(skip) if skip else sa.true())
        .order_by(HOOKS.c.next_attempt_at).limit(1).with_for_update(skip_locked=True)).first()


def _failed(conn: Connection, hook, delivery: str, body: bytes, n: int, error: str,
            policy: Policy, after: Position) -> None:
    """Count an attempt; back off, or give the batch up as a dead letter."""
    attempts = hook.attempts + 1
    if attempts < policy.max_attempts:
        wait = min(policy.backoff_s * 2 ** (attempts - 1), MAX_BACKOFF_S)
        conn.execute(sa.update(HOOKS).where(HOOKS.c.id == hook.id).values(
            attempts=attempts, last_error=error,
            next_attempt_at=sa.func.now() + dt.timedelta(seconds=wait)))
        return
    conn.execute(sa.insert(DEAD).values(hook_id=hook.id, delivery=delivery, body=body.decode(),
                                        n_changes=n, attempts=attempts, last_error=error))
    _advance(conn, hook.id, after, 0, error)


def _advance(conn: Connection, hook_id: int, after: Position, delivered: int,
             error: str | None) -> None:
    conn.execute(sa.update(HOOKS).where(HOOKS.c.id == hook_id).values(
        commit_seq=after.commit_seq, change_id=after.change_id, attempts=0, last_error=error,
        next_attempt_at=sa.func.now(), delivered=HOOKS.c.delivered + delivered))


def deliver_one(conn: Connection, read_page: Callable, policy: Policy, skip: list[int]) -> int | None:
    """Deliver the next batch of one due hook; the hook's id, or None when none is due.
    A hook with nothing new, or whose delivery failed, is added to `skip`."""
    hook = _due_hook(conn, skip)
    if hook is None:
        return None
    page = read_page(conn, Position(hook.commit_seq, hook.change_id), list(hook.layers),
                     policy.batch)
    if not page.changes:
        skip.append(hook.id)
        return hook.id
    delivery = f"{hook.id}-{page.changes[0]['change']}-{page.changes[-1]['change']}"
    body = json.dumps({"hook": hook.id, "delivery": delivery, "changes": page.changes,
                       "next": tokens.encode(page.next, horizon(conn).epoch)},
                      ensure_ascii=False).encode()
    error = post(hook.url, hook.secret, delivery, body, policy.timeout_s)
    if error is None:
        _advance(conn, hook.id, page.next, len(page.changes), None)
    else:
        skip.append(hook.id)
        _failed(conn, hook, delivery, body, len(page.changes), error, policy, page.next)
    return hook.id


def run_due(engine: Engine, read_page: Callable, policy: Policy) -> int:
    """Deliver every due batch of every hook, each in its own transaction; returns the
    number of batches tried."""
    skip: list[int] = []
    tried = 0
    while True:
        with engine.begin() as conn:
            if deliver_one(conn, read_page, policy, skip) is None:
                return tried
        tried += 1


def retry_dead(engine: Engine, hook_id: int, policy: Policy) -> tuple[int, int]:
    """Send a hook's dead letters again, oldest first (fresh timestamp and signature);
    each one accepted is deleted. Returns (sent, still dead)."""
    sent = failed = 0
    with engine.begin() as conn:
        hook = conn.execute(sa.select(HOOKS).where(HOOKS.c.id == hook_id)
                            .with_for_update()).first()
        if hook is None:
            raise NotFound(f"no hook {hook_id}")
        for letter in conn.execute(sa.select(DEAD).where(DEAD.c.hook_id == hook_id)
                                   .order_by(DEAD.c.id)).all():
            error = post(hook.url, hook.secret, letter.delivery, letter.body.encode(),
                         policy.timeout_s)
            if error is None:
                conn.execute(sa.delete(DEAD).where(DEAD.c.id == letter.id))
                sent += 1
            else:
                conn.execute(sa.update(DEAD).where(DEAD.c.id == letter.id).values(
                    attempts=DEAD.c.attempts + 1, last_error=error, failed_at=sa.func.now()))
                failed += 1
    return sent, failed
