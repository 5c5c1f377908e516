"""`gisdb tiles seed`: render vector tiles of some layers into an MBTiles or PMTiles
archive (offline maps, serving from a CDN)."""
from __future__ import annotations

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
    """Vector tiles: seeding and export."""


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
