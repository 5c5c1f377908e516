"""`gisdb history`, `gisdb diff`, `gisdb revert`: a feature's versions, what changed in a
layer between two instants, and undoing an import or a feature's changes."""
from __future__ import annotations

import csv
import datetime as dt
import json
import sys

import click

from gisdb.cql2.literals import parse_instant
from gisdb.engine import db_errors, make_engine
from gisdb.errors import InvalidFilter
from gisdb.history.diff import diff_table
from gisdb.history.feature_history import feature_history
from gisdb.history.revert import revert_feature, revert_import
from gisdb.importing.log import who
from layers.registry import history_target, history_tracked

from .context import settings_from, user_errors


class Instant(click.ParamType):
    """An RFC 3339 timestamp (UTC when it has no offset), a date (UTC midnight) or `now`."""

    name = "TIME"

    def convert(self, value, param, ctx):
        """The aware datetime the text names."""
        if isinstance(value, dt.datetime):
            return value
        if value.strip().lower() == "now":
            return dt.datetime.now(dt.timezone.utc)
        try:
            parsed = parse_instant(value)
        except InvalidFilter:
            self.fail(f"{value!r} is not a date or an RFC 3339 time (2026-05-01T08:00:00+07:00)", param, ctx)
        if not isinstance(parsed, dt.datetime):
            parsed = dt.datetime(parsed.year, parsed.month, parsed.day, tzinfo=dt.timezone.utc)
        return parsed


def _engine(ctx):
    settings = settings_from(ctx)
    return make_engine(settings, timeout_ms=settings.import_statement_timeout_ms, pool_size=1,
                       max_overflow=0, application_name="gisdb-history")


@click.command("history")
@click.argument("layer")
@click.argument("feature_id", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
@user_errors
def history_command(ctx, layer, feature_id, as_json):
    """List the versions of feature FEATURE_ID of LAYER, newest first, with what each changed."""
    table = history_target(layer)
    engine = _engine(ctx)
    try:
        with db_errors(), engine.connect() as conn:
            entries = feature_history(conn, table, layer, feature_id)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(entries, ensure_ascii=False, indent=2))
        return
    click.echo(f"{'from':<32} {'op':<2} {'actor':<16} {'source':<8} {'import':>6}  changes")
    for e in entries:
        changed = ", ".join(_change_text(k, v) for k, v in e["changes"].items())
        click.echo(f"{e['from']:<32} {e['op']:<2} {(e['actor'] or '')[:16]:<16} {e['source'] or '':<8} "
                   f"{e['import_id'] or '':>6}  {changed}{'  # ' + e['comment'] if e['comment'] else ''}")


def _change_text(name: str, value) -> str:
    if isinstance(value, dict):
        delta = {k: v for k, v in value.items() if k != "changed"}
        return name + (" (" + ", ".join(f"{k} {v:+g}" for k, v in delta.items()) + ")" if delta else "")
    return f"{name}: {value[0]!r} -> {value[1]!r}"


@click.command("diff")
@click.argument("layer")
@click.option("--from", "t1", type=Instant(), required=True, help="Start instant (RFC 3339, a date, or now).")
@click.option("--to", "t2", type=Instant(), default="now", show_default=True, help="End instant.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True)
@click.pass_context
@user_errors
def diff_command(ctx, layer, t1, t2, fmt):
    """What changed in LAYER from --from to --to: features added, removed, and changed
    (with the changed fields)."""
    table = history_target(layer)
    engine = _engine(ctx)
    try:
        with db_errors(), engine.connect() as conn:
            rows = diff_table(conn, table, layer, t1, t2)
    finally:
        engine.dispose()
    if fmt == "json":
        out = {"layer": layer, "from": t1.isoformat(), "to": t2.isoformat(), "added": [], "removed": [],
               "changed": []}
        for r in rows:
            out[r.change].append({"id": r.id, "key": r.key, **({"fields": list(r.fields)}
                                                                if r.change == "changed" else {})})
        click.echo(json.dumps(out, ensure_ascii=False, default=str))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        keys = list(rows[0].key) if rows else []
        writer.writerow(["change", "id", *keys, "fields"])
        for r in rows:
            writer.writerow([r.change, r.id, *r.key.values(), " ".join(r.fields)])
    else:
        for r in rows:
            key = " ".join(f"{k}={v}" for k, v in r.key.items())
            click.echo(f"{r.change:<8} {r.id:>10}  {key}  {', '.join(r.fields)}".rstrip())
        counts = {c: sum(1 for r in rows if r.change == c) for c in ("added", "removed", "changed")}
        click.echo(f"{layer}: {counts['added']} added, {counts['removed']} removed, "
                   f"{counts['changed']} changed", err=True)


@click.command("revert")
@click.argument("layer", required=False)
@click.argument("feature_id", required=False, type=click.IntRange(min=1))
@click.option("--to", "at", type=Instant(), help="With LAYER ID: the instant to put the feature back to.")
@click.option("--import", "import_id", type=click.IntRange(min=1), help="Undo this import (see `gisdb imports`).")
@click.pass_context
@user_errors
def revert_command(ctx, layer, feature_id, at, import_id):
    """Undo import N (`--import N`), or put feature ID of LAYER back as it was at a time
    (`LAYER ID --to TIME`). The revert is a new change in the history (source cli)."""
    by_import = import_id is not None
    if by_import == bool(layer or feature_id or at):
        raise click.UsageError("give either --import N, or LAYER ID --to TIME")
    if not by_import and not (layer and feature_id and at):
        raise click.UsageError("LAYER ID --to TIME: all three are needed")
    actor = who()[0]
    engine = _engine(ctx)
    try:
        with db_errors(), engine.begin() as conn:
            if by_import:
                done = revert_import(conn, import_id, dict(history_tracked()), actor=actor)
            else:
                done = revert_feature(conn, history_target(layer), layer, feature_id, at, actor=actor)
    finally:
        engine.dispose()
    for what, counts in done.as_dict().items():
        for layer_id, n in counts.items():
            if n:
                click.echo(f"{layer_id}: {n} {what}")
    if not any(n for counts in done.as_dict().values() for n in counts.values()):
        click.echo("nothing to change: already in that state")
