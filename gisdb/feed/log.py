"""Reading the change log in commit order: the rows after a position, the feed's
horizon (token key, pruned position, tip), and pruning old commits.

Only numbered transactions are read: a number is drawn at commit, so nothing
uncommitted is ever handed out, and (see `commit_order`) a reader never sees a number
before every smaller one is visible."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gisdb.errors import TokenExpired
from gisdb.history.tables import CHANGES, XID8

from .token import LAST_OF_COMMIT, START, Position

_META = sa.MetaData()
FEED_COMMITS = sa.Table("feed_commits", _META,
                        sa.Column("xid", XID8, primary_key=True),
                        sa.Column("commit_seq", sa.BigInteger),
                        sa.Column("committed_at", sa.DateTime(timezone=True)),
                        schema="meta")
FEED_HORIZON = sa.Table("feed_horizon", _META,
                        sa.Column("only_row", sa.Boolean, primary_key=True),
                        sa.Column("epoch", sa.Uuid),
                        sa.Column("pruned_seq", sa.BigInteger),
                        sa.Column("pruned_change", sa.BigInteger),
                        schema="meta")


@dataclass(frozen=True)
class Horizon:
    """The feed's key, how far it was pruned, and its tip (the last committed change)."""

    epoch: uuid.UUID
    pruned: Position
    tip: Position


@dataclass(frozen=True)
class ChangeRow:
    """One change of the log, with the position a consumer is at once it has it."""

    position: Position
    layer: str
    feature_id: str
    op: str
    at: dt.datetime
    actor: str | None
    source: str | None


def horizon(conn: Connection) -> Horizon:
    """The feed's horizon, read in one statement."""
    tip = sa.select(sa.func.max(FEED_COMMITS.c.commit_seq)).scalar_subquery()
    row = conn.execute(sa.select(FEED_HORIZON.c.epoch, FEED_HORIZON.c.pruned_seq,
                                 FEED_HORIZON.c.pruned_change, tip)).one()
    pruned = Position(row[1], row[2])
    tip = Position(row[3], LAST_OF_COMMIT) if row[3] is not None else pruned
    return Horizon(epoch=row[0], pruned=pruned, tip=max(tip, pruned))


def check_not_pruned(position: Position, given: bool, h: Horizon) -> Position:
    """The position to read after: a given token older than the cut is TokenExpired;
    no token at all starts at the oldest change kept."""
    if not given:
        return max(position, h.pruned)
    if position < h.pruned:
        raise TokenExpired("this token is older than the change feed keeps (pruned): "
                           "reload the layers, then follow the feed from since=now")
    return position


def changes_after(conn: Connection, position: Position, layers: list[str],
                  limit: int) -> list[ChangeRow]:
    """Up to `limit` committed changes of `layers` after `position`, in commit order
    (commit number, then change id within a transaction)."""
    k, c = FEED_COMMITS, CHANGES
    after = sa.tuple_(k.c.commit_seq, c.c.change_id) > sa.tuple_(
        sa.literal(position.commit_seq, sa.BigInteger), sa.literal(position.change_id, sa.BigInteger))
    stmt = (sa.select(k.c.commit_seq, c.c.change_id, c.c.layer, c.c.feature_id, c.c.op, c.c.at,
                      c.c.actor, c.c.source)
            .select_from(k.join(c, c.c.xid == k.c.xid))
            .where(k.c.commit_seq >= position.commit_seq, after,
                   c.c.layer == sa.any_(sa.literal(list(layers), sa.ARRAY(sa.Text))))
            .order_by(k.c.commit_seq, c.c.change_id).limit(limit))
    return [ChangeRow(Position(r[0], r[1]), *r[2:]) for r in conn.execute(stmt)]


def prune(conn: Connection, before: dt.datetime) -> Position:
    """Forget the commits made before `before` (their changes stay in the history, but
    the feed no longer hands them out); returns the new pruned position."""
    last = conn.execute(sa.select(sa.func.max(FEED_COMMITS.c.commit_seq))
                        .where(FEED_COMMITS.c.committed_at < before)).scalar()
    if last is None:
        return horizon(conn).pruned
    last_change = conn.execute(
        sa.select(sa.func.max(CHANGES.c.change_id)).select_from(
            FEED_COMMITS.join(CHANGES, CHANGES.c.xid == FEED_COMMITS.c.xid))
        .where(FEED_COMMITS.c.commit_seq == last)).scalar() or 0
    conn.execute(sa.delete(FEED_COMMITS).where(FEED_COMMITS.c.commit_seq <= last))
    pruned = Position(last, last_change)
    conn.execute(sa.update(FEED_HORIZON).values(pruned_seq=pruned.commit_seq,
                                                pruned_change=pruned.change_id))
    return pruned


__all__ = ["START", "Position", "ChangeRow", "Horizon", "TokenExpired", "horizon",
           "check_not_pruned", "changes_after", "prune"]
