"""`gisdb report ward|district CODE --out FILE`: a unit's planning report written as
PDF, XLSX, CSV or JSON (by the file's extension), or printed as JSON."""
from __future__ import annotations

import json
from pathlib import Path

import click

from gisdb.engine import db_errors, make_engine
from layers.planning.reports import unit_report
from layers.planning.reports.render import write_report

from .context import settings_from, user_errors


@click.command("report")
@click.argument("level", type=click.Choice(["ward", "district"]))
@click.argument("code")
@click.option("--out", type=click.Path(path_type=Path),
              help="report.pdf, .xlsx, .csv or .json (default: JSON on the console).")
@click.pass_context
@user_errors
def report_command(ctx, level, code, out):
    """The report of a ward (or commune) or a district by its code: land use, building
    density and heights, permits per month, incidents per km and hotspots, violations."""
    engine = make_engine(settings_from(ctx), pool_size=1, max_overflow=0)
    try:
        with db_errors(), engine.connect() as conn:
            report = unit_report(conn, level, code)
    finally:
        engine.dispose()
    if out is None:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    click.echo(f"{report['unit']['name']}: wrote {write_report(report, out)}")
