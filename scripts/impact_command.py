"""`gisdb impact`: the parcels and buildings a road widening (or a drawn corridor) affects,
printed as a summary per ward and written to CSV, XLSX, GeoPackage or JSON."""
from __future__ import annotations

from pathlib import Path

import click

from gisdb.engine import db_errors, make_engine
from gisdb.errors import InvalidParameter
from layers.planning.impact import corridor_impact
from layers.planning.impact_tables import write_impact
from layers.queries import inputs

from .context import settings_from, user_errors


def _corridor(path: Path | None) -> str | None:
    """The GeoJSON text of a corridor file (bounded like a request body)."""
    if path is None:
        return None
    if not path.is_file():
        raise InvalidParameter(f"no such file: {path}")
    if path.stat().st_size > inputs.MAX_GEOJSON_CHARS:
        raise InvalidParameter(f"{path.name} is too large for a corridor")
    return path.read_text(encoding="utf-8")


def _summary(result) -> list[str]:
    """Lines of the summary: the corridor, each ward, the totals."""
    t = result.totals
    lines = [f"corridor {result.query['corridor_area_m2']:,.1f} m²"]
    for w in result.wards:
        lines.append(f"{w['ward_code'] or '-':>6} {w['ward_name'] or '(outside the wards)':<28} "
                     f"parcels {w['parcels']['count']:>5} ({w['parcels']['affected_m2']:,.1f} m²)  "
                     f"buildings {w['buildings']['count']:>5} ({w['buildings']['affected_m2']:,.1f} m²)")
    lines.append(f"total: parcels {t['parcels']['count']} ({t['parcels']['affected_m2']:,.1f} m², "
                 f"{t['parcels']['whole']} whole), buildings {t['buildings']['count']} "
                 f"({t['buildings']['affected_m2']:,.1f} m², {t['buildings']['whole']} whole)")
    owners = ", ".join(f"{k} {v}" for k, v in t["parcels_by_owner_type"].items())
    if owners:
        lines.append(f"parcels by owner type: {owners}")
    return lines


@click.command("impact")
@click.option("--road", help="Road segment id, or a street name (all its segments).")
@click.option("--width", type=float, help="The road's (or the drawn line's) new width in metres.")
@click.option("--corridor", type=click.Path(path_type=Path),
              help="A GeoJSON file (EPSG:4326): a corridor Polygon/MultiPolygon, or a new alignment "
                   "LineString/MultiLineString with --width.")
@click.option("--at-date", default=None, help="Date of the wards (YYYY-MM-DD; today).")
@click.option("--out", type=click.Path(path_type=Path), help="Write the list: .csv, .xlsx, .gpkg or .json.")
@click.pass_context
@user_errors
def impact_command(ctx, road, width, corridor, at_date, out):
    """Parcels and buildings affected by widening a road (--road X --width M), by a new
    alignment (--corridor LINE.geojson --width M) or by a corridor (--corridor
    POLYGON.geojson): affected area and share, owner type, per ward."""
    if (road is None) == (corridor is None):
        raise InvalidParameter("give --road and --width, or --corridor FILE.geojson")
    engine = make_engine(settings_from(ctx), pool_size=1, max_overflow=0)
    try:
        with db_errors(), engine.connect() as conn:
            result = corridor_impact(conn, road=road, width_m=width, corridor=_corridor(corridor),
                                     at_date=inputs.date(at_date))
    finally:
        engine.dispose()
    for line in _summary(result):
        click.echo(line)
    if out is not None:
        click.echo(f"wrote {write_impact(result, out)}")
