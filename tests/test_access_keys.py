"""API keys, users and grants: the command line creates them, the web verifies them.

401 without a credential where one is needed (with `WWW-Authenticate: Bearer`), 401 with
`error="invalid_token"` for a bad, revoked or expired key, even on a public read; 403 for
a key without the role; keys stored only as a salted digest; `/auth/me`."""
from __future__ import annotations

import datetime as dt
import time

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from access_fixtures import make_key
from gisdb.access.authenticate import CACHE_SECONDS
from gisdb.access.grants import roles_of
from gisdb.access.keys import KEY_PREFIX, list_keys
from layers.registry import layer_groups
from scripts.cli import main


def _cli(settings, *args) -> str:
    """Run `gisdb ARGS` against the test database; returns its output (exit 0 asserted)."""
    env = {"GISDB_DATABASE_URL": settings.database_url}
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_cli_creates_lists_and_revokes_keys(settings, engine, client):
    _cli(settings, "users", "add", "planner_a")
    _cli(settings, "users", "grant", "planner_a", "--group", "land", "--role", "edit")
    _cli(settings, "users", "grant", "planner_a", "--layers", "parcels", "--role", "admin")
    key = _cli(settings, "keys", "create", "a-laptop", "--user", "planner_a",
               "--expires", "2099-01-01").strip()
    assert key.startswith(KEY_PREFIX) and len(key) > 40
    listing = _cli(settings, "keys", "list")
    assert "a-laptop" in listing and key not in listing and key[4:20] not in listing
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT * FROM meta.api_keys WHERE name = 'a-laptop'")
                              ).mappings().one()
    assert key.encode() not in bytes(stored["digest"]) and len(bytes(stored["digest"])) == 32
    me = client.get("/auth/me", headers=_bearer(key))
    assert me.status_code == 200, me.json
    assert me.json["name"] == "planner_a" and me.json["kind"] == "key"
    assert me.json["roles"]["parcels"] == "admin" and me.json["roles"]["zoning"] == "edit"
    assert "buildings" not in me.json["roles"] and me.json["writes"] is False
    _cli(settings, "keys", "revoke", "a-laptop")
    time.sleep(CACHE_SECONDS + 0.2)
    gone = client.get("/auth/me", headers=_bearer(key))
    assert gone.status_code == 401 and gone.json["code"] == "Unauthorized"
    assert 'error="invalid_token"' in gone.headers["WWW-Authenticate"]


def test_highest_grant_wins(engine):
    make_key(engine, "mixed", "read", "*")
    make_key(engine, "mixed", "edit", "construction")
    make_key(engine, "mixed", "admin", "permits")
    with engine.connect() as conn:
        roles = roles_of(conn, ["mixed"], layer_groups())
    assert roles["roads"] == "read" and roles["buildings"] == "edit"
    assert roles["permits"] == "admin"


def test_anonymous_me_is_401_with_challenge(client):
    resp = client.get("/auth/me")
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="gisdb"'
    assert set(resp.json) == {"code", "description"}


@pytest.mark.parametrize("path", ["/collections/roads/items?limit=1",
                                  "/tiles/roads/16/52467/29806.mvt",
                                  "/collections/roads/tiles/WebMercatorQuad/16/29806/52467"])
@pytest.mark.parametrize("header", [
    "Bearer gdk_" + "x" * 43, "Bearer gdk_short", "Bearer ", "Basic dXNlcjpwdw==",
    "Bearer not-a-jwt", "Bearer " + "a" * 5000, "Bearer gdk_" + "é" * 43])
def test_bad_credentials_are_401_even_on_public_reads(client, header, path):
    resp = client.get(path, headers={"Authorization": header})
    assert resp.status_code == 401, resp.json
    assert resp.json["code"] == "Unauthorized"
    assert resp.headers["WWW-Authenticate"].startswith('Bearer realm="gisdb"')
    secret = header.partition(" ")[2]
    assert not secret or secret not in resp.get_data(as_text=True)


def test_expired_key_is_refused(engine, client):
    key = make_key(engine, "temp", "read")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE meta.api_keys SET expires_at = now() - interval '1 s' "
                             "WHERE user_name = 'temp'"))
    resp = client.get("/auth/me", headers=_bearer(key))
    assert resp.status_code == 401


def test_key_use_is_recorded(engine, client):
    key = make_key(engine, "user_of_keys", "read")
    assert client.get("/auth/me", headers=_bearer(key)).status_code == 200
    with engine.connect() as conn:
        rows = [r for r in list_keys(conn) if r["user_name"] == "user_of_keys"]
    assert rows[0]["last_used_at"] is not None
    assert rows[0]["last_used_at"] > dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)


def test_cli_refuses_bad_input(settings):
    runner = CliRunner()
    env = {"GISDB_DATABASE_URL": settings.database_url}
    for args in (["users", "grant", "nobody", "--all", "--role", "edit"],
                 ["users", "add", "x_bad"], ["users", "grant", "x_bad", "--layers", "nope",
                                             "--role", "read"],
                 ["users", "grant", "x_bad", "--all", "--group", "land", "--role", "read"],
                 ["keys", "create", "k", "--user", "nobody"], ["keys", "revoke", "nothing"],
                 ["keys", "create", "k2", "--user", "x_bad", "--expires", "soon"]):
        result = runner.invoke(main, args, env=env)
        if args[:2] == ["users", "add"]:
            assert result.exit_code == 0
            continue
        assert result.exit_code == 1 and "Traceback" not in result.output, (args, result.output)
