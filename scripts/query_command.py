"""`gisdb query identify|near|within|stats|search`: the spatial queries and the search
from the command line, printing the same JSON the web endpoints answer."""
from __future__ import annotations

import json
from pathlib import Path

import click

from gisdb.engine import db_errors, make_engine
from gisdb.errors import InvalidParameter
from layers import queries
from layers.queries import inputs
from layers.search import search

from .context import settings_from, user_errors


def _run(ctx: click.Context, compute) -> None:
    engine = make_engine(settings_from(ctx), pool_size=1, max_overflow=0)
    try:
        with db_errors(), engine.connect() as conn:
            result = compute(conn)
    finally:
        engine.dispose()
    click.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))


def _geometry(text: str | None, allowed):
    """GeoJSON given inline, or `@file.geojson`."""
    if text is None:
        return None
    if text.startswith("@"):
        path = Path(text[1:])
        if not path.is_file():
            raise InvalidParameter(f"no such file: {path}")
        text = path.read_text(encoding="utf-8")
    return inputs.geojson_geometry(text, allowed=allowed)


def _equals(pairs: tuple[str, ...]) -> dict:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise InvalidParameter(f"--where takes field=value, got {pair[:40]!r}")
        out[name.strip()] = value
    return out


@click.group("query")
def query_group():
    """Spatial queries: what is at a point, near a point or line, inside an area,
    statistics per ward or district; and the search (parcel numbers, streets, wards)."""


@query_group.command("identify")
@click.option("--lon", required=True, type=float)
@click.option("--lat", required=True, type=float)
@click.option("--layers", default="", help="Comma-separated layer ids (default: all).")
@click.option("--tolerance", default=5.0, show_default=True, help="Metres, for lines and points.")
@click.option("--at-date", default=None, help="Date of the admin units (YYYY-MM-DD).")
@click.pass_context
@user_errors
def identify_command(ctx, lon, lat, layers, tolerance, at_date):
    """Features at a point: containing polygons, and lines/points within TOLERANCE m."""
    chosen = inputs.layer_list(layers)
    _run(ctx, lambda conn: queries.identify(conn, lon, lat, chosen, tolerance_m=tolerance,
                                            at_date=inputs.date(at_date)))


@query_group.command("near")
@click.argument("layer")
@click.option("--lon", type=float)
@click.option("--lat", type=float)
@click.option("--geometry", help="GeoJSON Point or LineString, inline or @file.")
@click.option("--distance", required=True, type=float, help="Metres.")
@click.option("--filter", "filter_text", help="CQL2 text filter on the layer's queryables.")
@click.option("--where", multiple=True, help="field=value equality filter (repeatable).")
@click.option("--limit", default=100, show_default=True)
@click.pass_context
@user_errors
def near_command(ctx, layer, lon, lat, geometry, distance, filter_text, where, limit):
    """Features of LAYER within DISTANCE metres of a point or a line, nearest first."""
    target = _geometry(geometry, inputs.POINT_TYPES + inputs.LINE_TYPES)
    if target is None:
        if lon is None or lat is None:
            raise click.UsageError("give --lon and --lat, or --geometry")
        target = inputs.point(lon, lat)
    chosen = inputs.one_layer(layer)
    _run(ctx, lambda conn: queries.near(conn, chosen, target, distance, filter_text=filter_text,
                                        equals=_equals(where), limit=limit, with_geometry=False))


@query_group.command("within")
@click.option("--geometry", help="GeoJSON Polygon, inline or @file.")
@click.option("--circle", help="lon,lat,radius_m")
@click.option("--layers", default="", help="Comma-separated layer ids (default: all).")
@click.option("--features", default=0, show_default=True, help="Also list up to N ids per layer.")
@click.option("--at-date", default=None)
@click.pass_context
@user_errors
def within_command(ctx, geometry, circle, layers, features, at_date):
    """Counts, areas (m²), floor areas and lengths (m) per layer inside an area."""
    if bool(geometry) == bool(circle):
        raise click.UsageError("give exactly one of --geometry and --circle")
    area = inputs.circle_text(circle) if circle else _geometry(geometry, inputs.AREA_TYPES)
    chosen = inputs.layer_list(layers)
    _run(ctx, lambda conn: queries.within(conn, area, chosen, at_date=inputs.date(at_date),
                                          feature_ids=features))


@query_group.command("stats")
@click.argument("layer")
@click.option("--by", type=click.Choice(["ward", "district"]), default="ward", show_default=True)
@click.option("--filter", "filter_text", help="CQL2 text filter on the layer's queryables.")
@click.option("--where", multiple=True, help="field=value equality filter (repeatable).")
@click.option("--at-date", default=None, help="Districts exist before 2025-07-01 only.")
@click.pass_context
@user_errors
def stats_command(ctx, layer, by, filter_text, where, at_date):
    """Count, area (m²) and length (m) of LAYER per ward or district."""
    chosen = inputs.one_layer(layer)
    _run(ctx, lambda conn: queries.stats(conn, chosen, by, filter_text=filter_text,
                                         equals=_equals(where), at_date=at_date))


@query_group.command("search")
@click.argument("q")
@click.option("--layers", default="", help="Comma-separated layer ids (default: all).")
@click.option("--limit", default=10, show_default=True)
@click.pass_context
@user_errors
def search_command(ctx, q, layers, limit):
    """Parcel numbers ("tờ 12 thửa 345", "12/345"), streets, wards, projects, codes;
    diacritics and case are ignored."""
    chosen = inputs.layer_list(layers)
    _run(ctx, lambda conn: search(conn, q, chosen, limit))
