"""What every subcommand shares: the settings and a way to get an engine."""
from __future__ import annotations

import functools

import click

from gisdb.errors import GisdbError
from gisdb.settings import Settings


def settings_from(ctx: click.Context) -> Settings:
    return ctx.find_root().obj["settings"]


def user_errors(func):
    """Print a GisdbError as a clear one-line message and exit 1, no traceback."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except GisdbError as exc:
            raise click.ClickException(f"{exc.code}: {exc}") from exc
    return wrapper
