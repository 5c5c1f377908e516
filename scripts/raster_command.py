"""`gisdb raster add|list|remove`: the raster catalog (GeoTIFFs stored as COGs)."""
from __future__ import annotations

import json

import click

from gisdb.engine import make_engine

from .context import settings_from, user_errors

KINDS = ("elevation", "image", "generic")   # gisdb.rasters.KINDS (checked by a test); the
                                           # module itself (rasterio) loads only when used


@click.group("raster")
def raster_group():
    """Register GeoTIFF rasters (DEMs, imagery) for tiling."""


def _engine(settings):
    return make_engine(settings, timeout_ms=settings.import_statement_timeout_ms, pool_size=1)


def _summary(entry: dict) -> str:
    west, south, east, north = entry["bbox"]
    return (f"{entry['name']:<20} {entry['kind']:<10} {entry['band_count']}x{entry['dtype']:<8} "
            f"{entry['width']}x{entry['height']:<7} {entry['crs']:<11} "
            f"[{west:.5f}, {south:.5f}, {east:.5f}, {north:.5f}]  {entry['title'] or ''}")


@raster_group.command("add")
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--title", help="Human title (defaults to NAME).")
@click.option("--kind", type=click.Choice(KINDS), help="Override the guessed kind.")
@click.pass_context
@user_errors
def add(ctx, name, file, title, kind):
    """Add (or replace) raster NAME from FILE (.tif/.tiff), stored as a Cloud-Optimised GeoTIFF."""
    from gisdb.rasters import add_raster
    settings = settings_from(ctx)
    engine = _engine(settings)
    try:
        entry = add_raster(engine, settings, name, file, title=title, kind=kind)
    finally:
        engine.dispose()
    click.echo(("added  " if entry["changed"] else "unchanged  ") + _summary(entry))
    for band in entry["stats"]["bands"]:
        click.echo(f"  band {band['band']}: min {band['min']} max {band['max']} mean {band['mean']}")


@raster_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
@user_errors
def list_command(ctx, as_json):
    """List the registered rasters."""
    from gisdb.rasters import list_rasters
    engine = _engine(settings_from(ctx))
    try:
        with engine.connect() as conn:
            entries = list_rasters(conn)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(entries, default=str, ensure_ascii=False, indent=2))
        return
    if not entries:
        click.echo("no rasters registered")
    for entry in entries:
        click.echo(_summary(entry))


@raster_group.command("remove")
@click.argument("name")
@click.pass_context
@user_errors
def remove(ctx, name):
    """Unregister raster NAME and delete its stored file."""
    from gisdb.rasters import remove_raster
    settings = settings_from(ctx)
    engine = _engine(settings)
    try:
        remove_raster(engine, settings, name)
    finally:
        engine.dispose()
    click.echo(f"removed {name}")
