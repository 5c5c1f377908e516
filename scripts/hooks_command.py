"""`gisdb hooks`: webhooks that receive the change feed (gisdb.feed.hooks, delivery)."""
from __future__ import annotations

import time

import click

from gisdb.engine import make_engine
from gisdb.feed import delivery, hooks
from gisdb.feed.log import horizon
from gisdb.feed.token import START

from .context import settings_from, user_errors


def _engine(ctx):
    return make_engine(settings_from(ctx), pool_size=1)


def _layers(raw: str) -> list[str]:
    from layers.registry import get_layer
    names = [part.strip() for part in raw.split(",") if part.strip()]
    if not names:
        raise click.BadParameter("name at least one layer", param_hint="--layers")
    return [get_layer(name).id for name in names]


@click.group("hooks")
def hooks_group():
    """Webhooks: POST the change feed to other systems, signed, with retries."""


@hooks_group.command("add")
@click.argument("url")
@click.option("--layers", "layer_list", required=True, help="Comma-separated layer ids.")
@click.option("--secret", help="Signing secret (at least 16 characters; made up when absent).")
@click.option("--from-start", is_flag=True, help="Deliver the changes kept so far too "
              "(default: from now on).")
@click.pass_context
@user_errors
def add_command(ctx, url, layer_list, secret, from_start):
    """Add a hook for URL; prints its secret once."""
    engine = _engine(ctx)
    with engine.begin() as conn:
        start = START if from_start else horizon(conn).tip
        hook_id, secret = hooks.add_hook(conn, url, _layers(layer_list), secret, start)
    click.echo(f"hook {hook_id}: {hooks.shown_url(url)} ({layer_list})")
    click.echo(f"secret (shown once, keep it to check X-Gisdb-Signature): {secret}")


@hooks_group.command("list")
@click.pass_context
@user_errors
def list_command(ctx):
    """The hooks, their cursors and state."""
    with _engine(ctx).connect() as conn:
        rows = hooks.list_hooks(conn)
    for r in rows:
        state = f"retry #{r['attempts']} at {r['next_attempt_at']:%Y-%m-%d %H:%M:%S}" if r["attempts"] else "ok"
        click.echo(f"{r['id']}\t{r['url']}\t{','.join(r['layers'])}\tdelivered {r['delivered']}\t"
                   f"{state}\tdead {r['dead']}" + (f"\t{r['last_error']}" if r["last_error"] else ""))
    if not rows:
        click.echo("no hooks")


@hooks_group.command("remove")
@click.argument("hook_id", type=int)
@click.pass_context
@user_errors
def remove_command(ctx, hook_id):
    """Remove a hook (and its dead letters)."""
    with _engine(ctx).begin() as conn:
        hooks.remove_hook(conn, hook_id)
    click.echo(f"hook {hook_id} removed")


@hooks_group.command("dead")
@click.argument("hook_id", type=int, required=False)
@click.pass_context
@user_errors
def dead_command(ctx, hook_id):
    """The dead letters: batches given up on after the last attempt."""
    with _engine(ctx).connect() as conn:
        rows = hooks.dead_letters(conn, hook_id)
    for r in rows:
        click.echo(f"{r['id']}\thook {r['hook_id']}\t{r['delivery']}\t{r['n_changes']} changes\t"
                   f"{r['attempts']} attempts\t{r['failed_at']:%Y-%m-%d %H:%M:%S}\t{r['last_error']}")
    if not rows:
        click.echo("no dead letters")


@hooks_group.command("retry")
@click.argument("hook_id", type=int)
@click.pass_context
@user_errors
def retry_command(ctx, hook_id):
    """Send a hook's dead letters again now, and end its back-off."""
    engine = _engine(ctx)
    sent, failed = delivery.retry_dead(engine, hook_id, delivery.Policy())
    with engine.begin() as conn:
        hooks.make_due(conn, hook_id)
    click.echo(f"hook {hook_id}: {sent} dead letters delivered, {failed} still dead")
    if failed:
        raise SystemExit(1)


@hooks_group.command("run")
@click.option("--once", is_flag=True, help="Deliver what is due, then stop.")
@click.option("--interval", type=click.FloatRange(0.1, 3600), default=2.0, show_default=True,
              help="Seconds between rounds.")
@click.option("--max-attempts", type=click.IntRange(1, 100), default=8, show_default=True)
@click.option("--backoff", type=click.FloatRange(0, 86400), default=10.0, show_default=True,
              help="Seconds before the first retry; doubled at each attempt (at most an hour).")
@click.option("--batch", type=click.IntRange(1, 1000), default=100, show_default=True,
              help="Changes per POST.")
@click.pass_context
@user_errors
def run_command(ctx, once, interval, max_attempts, backoff, batch):
    """Deliver the feed to the hooks (several workers may run: none sends twice at once)."""
    from layers.feed import feed_page
    policy = delivery.Policy(batch=batch, max_attempts=max_attempts, backoff_s=backoff)
    engine = _engine(ctx)
    while True:
        tried = delivery.run_due(engine, feed_page, policy)
        if once:
            click.echo(f"{tried} batches tried")
            return
        time.sleep(interval)
