"""Entry point of the `gisdb` command."""
from __future__ import annotations

import click

from gisdb.settings import Settings

from .db import db_group, migrate_command
from .layers_command import layers_command
from .query_command import query_group
from .serve import serve_command
from .sample_command import sample_command
from .tiles_command import tiles_group
from .raster_command import raster_group
from .export_command import export_command
from .import_command import import_command, imports_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx):
    """Da Nang urban GIS: database, imports, tiles and map server.

    Configuration comes from the environment (GISDB_DATABASE_URL, GISDB_DATA_DIR,
    GISDB_PORT, ...; see the README)."""
    ctx.ensure_object(dict)
    ctx.obj["settings"] = Settings.from_env()


main.add_command(db_group)
main.add_command(migrate_command)
main.add_command(layers_command)
main.add_command(query_group)
main.add_command(serve_command)
main.add_command(sample_command)
main.add_command(raster_group)
main.add_command(export_command)
main.add_command(tiles_group)
main.add_command(import_command)
main.add_command(imports_command)
