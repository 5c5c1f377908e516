"""`gisdb check [RULE ...]`: run the planning rules, print a summary, write the findings."""
from __future__ import annotations

import click

from gisdb.engine import make_engine

from .context import settings_from, user_errors


@click.command("check")
@click.argument("rules", nargs=-1)
@click.option("--ward", help="Only features in this ward (its code, e.g. 20194).")
@click.option("--out", type=click.Path(dir_okay=False),
              help="Write the findings to FILE.csv or FILE.gpkg (any export format).")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
@click.option("--refresh", is_flag=True,
              help="Also bring the violations layer up to date for the rules checked.")
@click.option("--list", "list_rules", is_flag=True, help="List the rules and exit.")
@click.pass_context
@user_errors
def check_command(ctx, rules, ward, out, overwrite, refresh, list_rules):
    """Run the planning rules (all, or RULE ...): per rule the count, severity and title;
    with --out the findings as a file; with --refresh the violations layer too."""
    from layers.planning.rules import RULES
    from layers.planning.violations import chosen_rules, refresh_violations, run_checks
    if list_rules:
        for rule in RULES.values():
            click.echo(f"{rule.id:<24} {rule.severity:<7} {rule.title_vi} / {rule.title_en}")
        return
    chosen = [r.id for r in chosen_rules(rules)]
    engine = make_engine(settings_from(ctx), pool_size=1, max_overflow=0, application_name="gisdb-check")
    try:
        with engine.connect() as conn:
            summary = run_checks(conn, chosen, ward)
        _print(summary)
        if out:
            from layers.planning.findings import export_findings
            result = export_findings(engine, out, chosen, ward, overwrite)
            click.echo(f"wrote {result.features:,} findings to {result.path}")
        if refresh:
            with engine.begin() as conn:
                count = refresh_violations(conn, chosen)
            click.echo(f"violations layer refreshed: {count:,} violations")
    finally:
        engine.dispose()


def _print(summary) -> None:
    click.echo(f"{'rule':<24} {'count':>7}  {'severity':<8} title")
    for s in summary:
        click.echo(f"{s.rule_id:<24} {s.count:>7,}  {s.severity:<8} {s.title_vi} / {s.title_en}")
    click.echo(f"{'total':<24} {sum(s.count for s in summary):>7,}")
