"""`gisdb db ...`: manage the embedded PostGIS cluster; `gisdb migrate`."""
from __future__ import annotations

import json

import click

from gisdb.cluster import Cluster
from gisdb.database import ensure_database
from gisdb.engine import database_url, make_engine
from layers.schema import migrate

from .context import settings_from, user_errors


@click.group("db")
def db_group():
    """Manage the embedded PostGIS cluster under data/ (ignored with GISDB_DATABASE_URL)."""


def _cluster(ctx) -> Cluster:
    settings = settings_from(ctx)
    if not settings.embedded:
        raise click.ClickException("GISDB_DATABASE_URL is set: the embedded cluster is not used")
    return Cluster(settings)


@db_group.command("start")
@click.pass_context
@user_errors
def start(ctx):
    """Initialise (first time) and start the embedded cluster."""
    cluster = _cluster(ctx)
    cluster.start()
    ensure_database(settings_from(ctx))
    click.echo(f"running: {cluster.url()}")


@db_group.command("stop")
@click.pass_context
@user_errors
def stop(ctx):
    """Stop the embedded cluster (fast shutdown)."""
    _cluster(ctx).stop()
    click.echo("stopped")


@db_group.command("status")
@click.pass_context
@user_errors
def status(ctx):
    """Print the state of the embedded cluster as JSON."""
    click.echo(json.dumps(_cluster(ctx).status(), indent=2))


@db_group.command("url")
@click.pass_context
@user_errors
def url(ctx):
    """Print the SQLAlchemy URL of the configured database."""
    click.echo(database_url(settings_from(ctx)))


@click.command("migrate")
@click.option("--revision", default="head", show_default=True)
@click.pass_context
@user_errors
def migrate_command(ctx, revision):
    """Apply the schema migrations to the configured database."""
    settings = settings_from(ctx)
    if settings.embedded:
        Cluster(settings).start()
    ensure_database(settings)
    engine = make_engine(settings, timeout_ms=settings.import_statement_timeout_ms)
    try:
        click.echo(f"schema at revision {migrate(engine, revision)}")
    finally:
        engine.dispose()
