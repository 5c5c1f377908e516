"""`gisdb edit LAYER ID`: change one feature from the shell; `gisdb audit`: the audit
trail (edits and imports)."""
from __future__ import annotations

import datetime as dt
import getpass
import json

import click

from gisdb.attribution import Writer
from gisdb.crs import crs_from_uri
from gisdb.editing.audit import MAX_PAGE, TrailQuery, trail
from gisdb.editing.staff import edit_one, geometry_input, parse_sets
from gisdb.engine import make_engine
from gisdb.errors import InvalidParameter
from layers.importing import import_target
from layers.planning.violations import refresh_written
from tiles.overviews import refresh_written_overviews

from .context import settings_from, user_errors


@click.command("edit")
@click.argument("layer_id", metavar="LAYER")
@click.argument("feature_id", metavar="ID", type=click.IntRange(1))
@click.option("--set", "sets", multiple=True, metavar="COLUMN=VALUE",
              help="New value of a property (repeatable; an empty value is NULL).")
@click.option("--geometry", metavar="FILE|WKT", help="New geometry: a GeoJSON file or WKT.")
@click.option("--crs", default=None, help="CRS of --geometry (default CRS84), e.g. EPSG:5899.")
@click.option("--delete", is_flag=True, help="Delete the feature.")
@click.option("--comment", help="A comment for the audit trail.")
@click.option("--actor", help="Who edits (default: the OS user).")
@click.pass_context
@user_errors
def edit_command(ctx, layer_id, feature_id, sets, geometry, crs, delete, comment, actor):
    """Change feature ID of LAYER with the API's validation, version check and audit."""
    if delete and (sets or geometry):
        raise InvalidParameter("--delete takes no --set or --geometry")
    if not (delete or sets or geometry):
        raise InvalidParameter("nothing to do: give --set, --geometry or --delete")
    target = import_target(layer_id)
    writer = Writer(actor=actor or getpass.getuser(), source="cli", comment=comment)
    engine = make_engine(settings_from(ctx), pool_size=1, max_overflow=0, application_name="gisdb-edit")
    try:
        result = edit_one(engine, target, feature_id, writer, crs_from_uri(crs, name="--crs"),
                          properties=parse_sets(sets), delete=delete,
                          geometry=geometry_input(geometry) if geometry else None)
        refresh_written(engine, [(result.layer, result.feature_id)])
        refresh_written_overviews(engine, [result.layer])
    finally:
        engine.dispose()
    done = "deleted" if delete else f"updated (version {result.version})"
    repairs = f"; repaired: {', '.join(result.repairs)}" if result.repairs else ""
    click.echo(f"{layer_id} {feature_id} {done}{repairs}")


@click.command("audit")
@click.option("--actor", help="Only this actor's writes.")
@click.option("--layer", help="Only this layer.")
@click.option("--source", type=click.Choice(["api", "cli", "import"]))
@click.option("--since", type=click.DateTime(), help="From this time (UTC), inclusive.")
@click.option("--until", type=click.DateTime(), help="Until this time (UTC), exclusive.")
@click.option("--limit", type=click.IntRange(1, MAX_PAGE), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
@user_errors
def audit_command(ctx, actor, layer, source, since, until, limit, offset, as_json):
    """The audit trail, newest first: API and command-line edits, and imports."""
    utc = (lambda t: t.replace(tzinfo=dt.timezone.utc) if t else None)
    q = TrailQuery(actor=actor, layer=layer, source=source, since=utc(since), until=utc(until),
                   limit=limit, offset=offset)
    engine = make_engine(settings_from(ctx), pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            rows = trail(conn, q)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    for r in rows:
        what = r["file"] or ",".join(str(i) for i in (r["feature_ids"] or [])[:10])
        click.echo(f"{r['at'][:25]}  {r['source']:<6} {r['actor']:<16} {r['action']:<14} "
                   f"{r['layer']:<16} {r['n_features']:>6}  {what}  {r['comment'] or ''}")
