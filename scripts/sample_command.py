"""`gisdb sample`: load the deterministic sample city (and optionally write the raw
file with deliberate errors used by import tests)."""
from __future__ import annotations

import json

import click

from gisdb.engine import make_engine
from layers.bootstrap import prepare

from .context import settings_from, user_errors


@click.command("sample")
@click.option("--scale", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Size of the city: 1 is ~29,000 features in central Da Nang; 45 is ~1.3 million.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the generator.")
@click.option("--replace", is_flag=True,
              help="Empty every layer first (otherwise a database holding the sample is refused).")
@click.option("--irregular-file", type=click.Path(dir_okay=False, writable=True),
              help="Also write a GeoJSON of parcels with deliberate errors to this path.")
@click.option("--file-only", is_flag=True, help="Only write --irregular-file; load nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
@user_errors
def sample_command(ctx, scale, seed, replace, irregular_file, file_only, as_json):
    """Load the sample city of Da Nang into every layer, streamed with a progress bar."""
    if file_only and not irregular_file:
        raise click.UsageError("--file-only needs --irregular-file PATH")
    from layers.planning.violations import refresh_everywhere
    from layers.sample import load_sample_city, write_irregular_file
    from tiles.overviews import refresh_overviews
    if irregular_file:
        info = write_irregular_file(irregular_file)
        click.echo(f"wrote {info['features']} features ({info['valid']} clean) to {info['path']}")
    if file_only:
        return
    settings = settings_from(ctx)
    prepare(settings, load_sample=False, say=lambda message: click.echo(message, err=True))
    engine = make_engine(settings, timeout_ms=settings.import_statement_timeout_ms,
                         application_name="gisdb-sample")
    try:
        counts = load_sample_city(engine, scale=scale, seed=seed, progress=True, replace=replace)
        counts["violations"] = refresh_everywhere(engine)
        refresh_overviews(engine)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(counts, indent=2))
        return
    for layer_id, count in counts.items():
        click.echo(f"{layer_id:<18} {count:>10,}")
    click.echo(f"{'total features':<18} {sum(v for k, v in counts.items() if k not in ('traffic_counts', 'violations')):>10,}")
