"""`gisdb feed`: the change feed's retention (the history itself is kept)."""
from __future__ import annotations

import datetime as dt

import click
import sqlalchemy as sa

from gisdb.engine import make_engine
from gisdb.feed.log import prune

from .context import settings_from, user_errors


@click.group("feed")
def feed_group():
    """The change feed (/changes): retention."""


@feed_group.command("prune")
@click.option("--older-than", "days", type=click.IntRange(1, 36500), required=True,
              help="Days: commits older than this are no longer handed out.")
@click.pass_context
@user_errors
def prune_command(ctx, days):
    """Stop handing out changes committed more than DAYS ago; tokens from before the cut
    get 410 TokenExpired. The versions stay in the history."""
    engine = make_engine(settings_from(ctx), pool_size=1)
    with engine.begin() as conn:
        now = conn.execute(sa.select(sa.func.now())).scalar()
        cut = prune(conn, now - dt.timedelta(days=days))
    click.echo(f"feed pruned through commit {cut.commit_seq}")
