"""`gisdb layers`: list the layer registry."""
from __future__ import annotations

import json

import click

from layers.registry import ALL_LAYERS


@click.command("layers")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def layers_command(as_json):
    """List every layer of the registry: id, group, titles, table, geometry, zooms."""
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
