"""Entry point of the `gisdb` command. Subcommands are imported only when they run, so
`gisdb --help` and quick commands do not pay for GDAL, pandas or Mapnik."""
from __future__ import annotations

import importlib

import click

from gisdb.settings import Settings

# name -> "module:attribute" of the click command (modules under scripts/)
COMMANDS = {
    "db": "db:db_group",
    "migrate": "db:migrate_command",
    "layers": "layers_command:layers_command",
    "users": "access_command:users_group",
    "keys": "access_command:keys_group",
    "sample": "sample_command:sample_command",
    "serve": "serve:serve_command",
    "import": "import_command:import_command",
    "imports": "import_command:imports_command",
    "export": "export_command:export_command",
    "edit": "edit_command:edit_command",
    "audit": "edit_command:audit_command",
    "raster": "raster_command:raster_group",
    "query": "query_command:query_group",
    "impact": "impact_command:impact_command",
    "report": "report_command:report_command",
    "tiles": "tiles_command:tiles_group",
    "hooks": "hooks_command:hooks_group",
    "feed": "feed_command:feed_group",
    "jobs": "jobs_command:jobs_group",
    "history": "history_command:history_command",
    "diff": "history_command:diff_command",
    "revert": "history_command:revert_command",
    "check": "check_command:check_command",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attribute = target.split(":")
        return getattr(importlib.import_module(f"scripts.{module}"), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx):
    """Da Nang urban GIS: database, imports, tiles and map server.

    Configuration comes from the environment (GISDB_DATABASE_URL, GISDB_DATA_DIR,
    GISDB_PORT, ...; see the README)."""
    ctx.ensure_object(dict)
    ctx.obj["settings"] = Settings.from_env()
