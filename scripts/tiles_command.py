"""`gisdb tiles seed`: render vector tiles of some layers into an MBTiles or PMTiles
archive (offline maps, serving from a CDN); `gisdb tiles overviews`: the stored
low-zoom overviews (tiles.overviews)."""
from __future__ import annotations

import json
from pathlib import Path

import click

from tiles.cache import TileCache
from tiles.grid import parse_zoom_range
from tiles.seed import parse_bbox, seed
from tiles.vector import VectorTiles, make_tile_engine, parse_layers

from .context import settings_from, user_errors
from .progress import ProgressReporter


@click.group("tiles")
def tiles_group():
    """Vector tiles: seeding and export, stored overviews."""


@tiles_group.command("seed")
@click.argument("layers")
@click.option("--zoom", "zoom", default="10-16", show_default=True,
              help="Zoom range, e.g. 10-16 (each layer's own zoom range still applies).")
@click.option("--bbox", help="west,south,east,north in degrees (default: the data's extent).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Output archive: FILE.mbtiles or FILE.pmtiles.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@click.pass_context
@user_errors
def seed_command(ctx, layers, zoom, bbox, out, overwrite):
    """Render LAYERS (comma-separated ids, e.g. roads,buildings) into --out."""
    settings = settings_from(ctx)
    chosen = parse_layers(layers)
    zooms = parse_zoom_range(zoom)
    box = parse_bbox(bbox)
    engine = make_tile_engine(settings)
    service = VectorTiles(engine, TileCache(settings.tile_cache_dir, 0))
    try:
        with ProgressReporter("tiles", unit="tiles") as progress:
            result = seed(service, chosen, zooms, Path(out), bbox=box, progress=progress,
                          overwrite=overwrite)
    finally:
        engine.dispose()
    click.echo(f"{result.path}: {result.written} tiles with data of {result.visited} "
               f"rendered, {result.bytes / 1e6:.1f} MB")


@tiles_group.command("overviews")
@click.option("--layer", "layer_ids", multiple=True, help="Only this layer (repeatable).")
@click.option("--force", is_flag=True, help="Rebuild even when current.")
@click.option("--status", "status_only", is_flag=True, help="Only print each layer's state.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@user_errors
def overviews_command(ctx, layer_ids, force, status_only, as_json):
    """Rebuild the stored low-zoom overviews (z8-z12) that are older than their layer's
    data (writes through gisdb refresh them already; this catches plain SQL)."""
    from gisdb.engine import make_engine
    from tiles.overviews import overview_status, refresh_overviews
    settings = settings_from(ctx)
    engine = make_engine(settings, timeout_ms=settings.import_statement_timeout_ms,
                         application_name="gisdb-overviews")
    try:
        if not status_only:
            refresh_overviews(engine, layer_ids or None, force=force)
        with engine.connect() as conn:
            status = overview_status(conn)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(status, indent=2))
        return
    for row in status:
        state = "current" if row["current"] else "stale"
        click.echo(f"{row['layer']:<12} {state:<8} {row['features']:>9,} rows  "
                   f"built at version {row['version']}  ({row['seconds'] or 0:.2f} s)")
