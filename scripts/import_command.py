"""`gisdb import LAYER PATH`: load a file into a layer; `gisdb imports`: the import log."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from gisdb.engine import make_engine
from gisdb.importing import FieldMapping, ImportOptions
from gisdb.importing.crs import GEOMETRY_TOLERANCE_M
from gisdb.importing.log import get_report, list_imports
from gisdb.importing.progress import Progress
from layers.importing import import_layer
from layers.registry import get_layer
from tiles.overviews import refresh_written_overviews

from .context import settings_from, user_errors


@click.command("import")
@click.argument("layer_id", metavar="LAYER")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--mode", type=click.Choice(["upsert", "append", "replace"]), default="upsert",
              show_default=True, help="upsert on the layer's natural key, append new features only, "
                                      "or replace the layer with the file (one transaction).")
@click.option("--srs", help="CRS of the file, anything pyproj accepts (e.g. EPSG:5899); "
                            "overrides the .prj.")
@click.option("--encoding", help="Text encoding of a DBF/CSV (e.g. cp1258, utf-8) when the file lies.")
@click.option("--map", "maps", multiple=True, metavar="SRC=COLUMN",
              help="Fill COLUMN from the file's field SRC (repeatable; $fid and $geom_hash allowed).")
@click.option("--set", "sets", multiple=True, metavar="COLUMN=VALUE",
              help="Fill COLUMN with a constant, or per row: \"level=commune if name startswith 'Xã ' else ward\".")
@click.option("--map-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON mapping file: {columns: {...}, constants: {...}, values: {...}}.")
@click.option("--table", help="GeoPackage table (or dataset name inside a zip) to import.")
@click.option("--geometry-columns", "geometry_columns", multiple=True, metavar="COL[,COL...]",
              help="CSV: the columns holding the geometry (WKT, 'lat,lng', lon,lat, or 'lat,lng' "
                   "columns joined into a line).")
@click.option("--tolerance", type=float, default=GEOMETRY_TOLERANCE_M, show_default=True,
              help="Metres: a geometry moved less than this is unchanged (upsert, replace).")
@click.option("--on-invalid", type=click.Choice(["fix", "reject", "fail"]), default="fix",
              show_default=True, help="What to do with invalid geometries.")
@click.option("--dry-run", is_flag=True, help="Validate and report, change nothing.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report as JSON here (rejected rows go beside it).")
@click.option("--rejects", "rejects_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write rejected rows (GeoJSON).")
@click.option("--force", is_flag=True, help="Allow a replace that removes most of the layer.")
@click.option("--chunk-size", type=click.IntRange(100, 1_000_000), default=50_000, show_default=True,
              help="Features read per batch.")
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.option("--actor", help="Who imports, for the import log and the audit trail (default: the OS user).")
@click.pass_context
@user_errors
def import_command(ctx, layer_id, path, mode, srs, encoding, maps, sets, map_file, table, geometry_columns,
                   tolerance, on_invalid, dry_run, report_path, rejects_path, force, chunk_size, quiet, actor):
    """Import PATH (Shapefile or .zip, GeoJSON, GeoPackage, FlatGeobuf, CSV) into LAYER.

    Validates everything first (a report is printed; rejected rows go to a GeoJSON
    file with their reasons), then applies the file in one transaction and logs it."""
    get_layer(layer_id)
    settings = settings_from(ctx)
    options = ImportOptions(mode=mode, srs=srs, encoding=encoding, dry_run=dry_run,
                            mapping=FieldMapping.from_options(maps, sets, map_file),
                            report_path=report_path, rejects_path=rejects_path, on_invalid=on_invalid,
                            force=force, table=table, chunk_size=chunk_size,
                            geometry_columns=geometry_columns, tolerance_m=tolerance, user=actor)
    engine = make_engine(settings, pool_size=2, max_overflow=0, application_name="gisdb-import")
    try:
        report = import_layer(engine, settings, layer_id, path, options,
                              Progress(None, enabled=not quiet))
        if not report.dry_run and report.loaded:
            refresh_written_overviews(engine, [layer_id])
    finally:
        engine.dispose()
    click.echo(report.format_table())


@click.command("imports")
@click.option("--layer", help="Only imports into this layer.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--show", "show_id", type=int, help="Print the full JSON report of one import.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
@user_errors
def imports_command(ctx, layer, limit, show_id, as_json):
    """List the import log (newest first): who imported which file into which layer."""
    engine = make_engine(settings_from(ctx), pool_size=1, max_overflow=0)
    try:
        if show_id is not None:
            click.echo(json.dumps(get_report(engine, show_id), ensure_ascii=False, indent=2, default=str))
            return
        rows = list_imports(engine, limit=limit, layer=layer)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"{'id':>5} {'started (UTC)':<19} {'layer':<16} {'mode':<8} {'status':<11} "
               f"{'read':>8} {'loaded':>8} {'rejected':>8}  user@host  file (sha256)")
    for r in rows:
        status = "dry-run" if r["dry_run"] and r["status"] in ("done", "dry-run") else r["status"]
        started = r["started_at"].astimezone(dt.timezone.utc)
        click.echo(f"{r['id']:>5} {started:%Y-%m-%d %H:%M:%S} {r['layer_id']:<16} {r['mode']:<8} "
                   f"{status:<11} {r['rows_read']:>8} {r['rows_loaded']:>8} {r['rows_rejected']:>8}  "
                   f"{r['user_name']}@{r['host']}  {r['file_name']} ({r['file_sha256'][:12]})")
