"""`gisdb layers`: list the layer registry; `gisdb layers hide|show LAYER`."""
from __future__ import annotations

import json

import click

from gisdb.access import visibility
from gisdb.engine import make_engine
from layers.registry import ALL_LAYERS, get_layer

from .context import settings_from, user_errors


@click.group("layers", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def layers_command(ctx, as_json):
    """List every layer of the registry: id, group, titles, table, geometry, zooms."""
    if ctx.invoked_subcommand is not None:
        return
    rows = [{"id": l.id, "group": l.group, "title_vi": l.title_vi, "title_en": l.title_en,
             "table": l.table_name, "geometry": l.geometry_type,
             "natural_key": list(l.natural_key), "zoom": [l.min_zoom, l.max_zoom],
             "queryables": [f.name for f in l.queryables]} for l in ALL_LAYERS]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    click.echo(f"{'id':<18} {'group':<13} {'geometry':<16} {'zoom':<7} {'table':<30} title")
    for r in rows:
        click.echo(f"{r['id']:<18} {r['group']:<13} {r['geometry']:<16} "
                   f"{r['zoom'][0]:>2}-{r['zoom'][1]:<4} {r['table']:<30} "
                   f"{r['title_vi']} / {r['title_en']}")


def _visibility_command(name: str, hide: bool, help_text: str, done: str) -> None:
    """Register `gisdb layers NAME LAYER`, which hides or shows LAYER in one transaction."""
    @layers_command.command(name, help=help_text)
    @click.argument("layer")
    @click.pass_context
    @user_errors
    def command(ctx, layer):
        get_layer(layer)
        engine = make_engine(settings_from(ctx), pool_size=1)
        try:
            with engine.begin() as conn:
                (visibility.hide_layer if hide else visibility.show_layer)(conn, layer)
        finally:
            engine.dispose()
        click.echo(f"{layer} {done}")


_visibility_command("hide", True, "Hide LAYER from anonymous readers (a credential with "
                    "read on it still sees it).", "hidden from anonymous readers")
_visibility_command("show", False, "Show LAYER to anonymous readers again.",
                    "shown to anonymous readers")
