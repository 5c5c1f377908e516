"""`gisdb export LAYER OUT`: a layer to GeoPackage, GeoJSON, Shapefile, FlatGeobuf or CSV."""
from __future__ import annotations

import click

from gisdb.engine import make_engine

from .context import settings_from, user_errors
from .progress import ProgressReporter

# gisdb.exporting.FORMATS (checked by a test); the export modules (pyarrow, GDAL) load
# only when an export runs, so `gisdb --help` stays quick
EXTENSIONS = ".csv, .fgb, .geojson, .gpkg, .json, .shp, .zip"


@click.command("export", help=(
    "Export LAYER to OUT; the format follows OUT's extension (" + EXTENSIONS + "; .zip is a "
    "zipped Shapefile). Coordinates are transformed in PostGIS with the EPSG-defined datum "
    "shift. The file appears only once it is complete."))
@click.argument("layer")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--bbox", help="minx,miny,maxx,maxy (EPSG:4326 unless --bbox-crs).")
@click.option("--bbox-crs", default="EPSG:4326", show_default=True,
              help="CRS of --bbox, e.g. EPSG:5899.")
@click.option("--srs", help="Output CRS as an EPSG code, e.g. EPSG:5899 (VN-2000 / TM-3 107-45).")
@click.option("--where", "filter_text", help="Attribute filter in CQL2 text, e.g. \"land_use = 'ODT'\".")
@click.option("--eq", "equalities", multiple=True, metavar="FIELD=VALUE",
              help="Keep features whose FIELD equals VALUE (repeatable, combined with AND).")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@click.option("--chunk-size", default=5000, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Rows fetched from the database per batch.")
@click.pass_context
@user_errors
def export_command(ctx, layer, out, bbox, bbox_crs, srs, filter_text, equalities, overwrite,
                   chunk_size):
    """Export a layer to a GIS file (help text above)."""
    from gisdb.exporting import ExportOptions, epsg_code, parse_bbox
    from layers.exporting import export_layer, parse_equalities
    box = parse_bbox(bbox, epsg_code(bbox_crs)) if bbox else None
    options = ExportOptions(bbox=box, bbox_crs=bbox_crs, srs=srs, chunk_size=chunk_size,
                            overwrite=overwrite)
    equals = parse_equalities(equalities)
    settings = settings_from(ctx)
    engine = make_engine(settings, timeout_ms=settings.import_statement_timeout_ms, pool_size=1)
    try:
        with ProgressReporter(f"export {layer}", unit="features") as progress:
            result = export_layer(engine, layer, out, options, filter_text=filter_text,
                                  equals=equals, progress=progress)
    finally:
        engine.dispose()
    for original, short in result.renamed_fields.items():
        click.echo(f"field {original} written as {short} (Shapefile names are at most 10 characters)")
    if result.format == "csv" and result.srid != 4326:
        click.echo(f"note: CSV files carry no CRS; the WKT coordinates are in EPSG:{result.srid}")
    click.echo(f"wrote {result.features} features to {result.path} "
               f"({result.format}, EPSG:{result.srid}) in {result.seconds:.1f} s")
