"""`gisdb users ...` and `gisdb keys ...`: who may do what (gisdb.access)."""
from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager

import click

from gisdb.access import grants as access_grants
from gisdb.access import keys as access_keys
from gisdb.engine import make_engine
from gisdb.errors import InvalidParameter
from layers.layer import GROUPS
from layers.registry import layer_ids

from .context import settings_from, user_errors


@contextmanager
def _transaction(ctx):
    """One transaction as the schema's owner."""
    engine = make_engine(settings_from(ctx), pool_size=1)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def _print(rows: list[dict], as_json: bool, line) -> None:
    """Rows as JSON, or one `line(row)` each."""
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, default=str, indent=2))
        return
    for row in rows:
        click.echo(line(row))


@click.group("users")
def users_group():
    """Users (holders of API keys) and their roles on layers."""


@users_group.command("add")
@click.argument("name")
@click.pass_context
@user_errors
def users_add(ctx, name):
    """Create user NAME (give it roles with `gisdb users grant`, keys with `gisdb keys create`)."""
    with _transaction(ctx) as conn:
        access_grants.add_user(conn, name)
    click.echo(f"user {name} added")


def _targets(layers: str | None, group: str | None, all_layers: bool) -> list[str]:
    """The grant's targets from exactly one of --layers, --group, --all."""
    if sum(bool(x) for x in (layers, group, all_layers)) != 1:
        raise InvalidParameter("give exactly one of --layers, --group, --all")
    if all_layers:
        return [access_grants.ALL]
    if group:
        return [group]
    return [part.strip() for part in layers.split(",") if part.strip()]


@users_group.command("grant")
@click.argument("name")
@click.option("--layers", help="Comma-separated layer ids, e.g. parcels,buildings.")
@click.option("--group", help="A group of layers: " + ", ".join(GROUPS) + ".")
@click.option("--all", "all_layers", is_flag=True, help="Every layer, now and later.")
@click.option("--role", type=click.Choice(access_grants.ROLES), required=True,
              help="read < edit < admin (the highest applicable grant wins).")
@click.pass_context
@user_errors
def users_grant(ctx, name, layers, group, all_layers, role):
    """Give NAME (a user, `oidc-group:GROUP` or `oidc-sub:SUBJECT`) ROLE on layers."""
    targets = _targets(layers, group, all_layers)
    with _transaction(ctx) as conn:
        access_grants.grant(conn, name, targets, role, [*layer_ids(), *GROUPS])
    click.echo(f"{name}: {role} on {', '.join(targets)}")


@users_group.command("revoke")
@click.argument("name")
@click.option("--layers", help="Comma-separated layer ids.")
@click.option("--group", help="A group of layers.")
@click.option("--all", "all_layers", is_flag=True, help="The grant on every layer (`*`).")
@click.pass_context
@user_errors
def users_revoke(ctx, name, layers, group, all_layers):
    """Remove NAME's grants on those layers (a group's or `*` grant is one grant)."""
    targets = _targets(layers, group, all_layers)
    with _transaction(ctx) as conn:
        removed = access_grants.revoke_grants(conn, name, targets)
    click.echo(f"{name}: {removed} grant(s) removed")


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of lines.")
@click.pass_context
@user_errors
def users_list(ctx, as_json):
    """List users and grantees with their grants."""
    with _transaction(ctx) as conn:
        rows = access_grants.list_users(conn)
    _print(rows, as_json, lambda row: f"{row['name']:<30} " + (", ".join(
        f"{t}={r}" for t, r in sorted(row["grants"].items())) or "(no grants)"))


@click.group("keys")
def keys_group():
    """API keys: created for a user, shown once, stored hashed, revocable."""


def _expiry(text: str | None) -> dt.datetime | None:
    """--expires as an aware datetime (a date means midnight UTC that day)."""
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(f"--expires must be a date or date-time, got {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


@keys_group.command("create")
@click.argument("name")
@click.option("--user", required=True, help="The user the key acts for.")
@click.option("--expires", help="Expiry, e.g. 2027-01-01 (none when absent).")
@click.pass_context
@user_errors
def keys_create(ctx, name, user, expires):
    """Create key NAME for USER and print it once (it is stored only as a hash)."""
    with _transaction(ctx) as conn:
        key = access_keys.create_key(conn, name, user, _expiry(expires))
    click.echo(key)


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
@user_errors
def keys_list(ctx, as_json):
    """List keys (name, user, prefix, dates; never the key)."""
    with _transaction(ctx) as conn:
        rows = access_keys.list_keys(conn)
    _print(rows, as_json, lambda r: (
        f"{r['name']:<24} {r['user_name']:<20} gdk_{r['prefix']}...  "
        f"{'revoked' if r['revoked_at'] else 'active':<8} expires {r['expires_at'] or 'never'}"
        f"  last used {r['last_used_at'] or 'never'}"))


@keys_group.command("revoke")
@click.argument("name")
@click.pass_context
@user_errors
def keys_revoke(ctx, name):
    """Revoke key NAME (refused by every server within seconds)."""
    with _transaction(ctx) as conn:
        access_keys.revoke_key(conn, name)
    click.echo(f"key {name} revoked")
