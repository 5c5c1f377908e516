"""Users and grants: roles on layers, groups of layers or every layer (`*`), for users
(their API keys) and for OpenID Connect groups and subjects."""
from __future__ import annotations

from typing import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from gisdb.errors import InvalidParameter, NotFound

from .principal import ROLES, higher_role
from .tables import Grant, User

GRANTS = Grant.__table__
OIDC_GRANTEES = ("oidc-group:", "oidc-sub:")
ALL = "*"


def add_user(conn: Connection, name: str) -> None:
    """Create user `name` (InvalidParameter when it exists or names an OIDC grantee)."""
    if not name or name.startswith(OIDC_GRANTEES) or len(name) > 200:
        raise InvalidParameter(f"{name!r} cannot be a user name")
    if conn.execute(sa.select(User.name).where(User.name == name)).first() is not None:
        raise InvalidParameter(f"a user named {name!r} exists already")
    conn.execute(sa.insert(User.__table__).values(name=name))


def list_users(conn: Connection) -> list[dict]:
    """Every user with its grants as {target: role}."""
    users = {name: {} for name in conn.execute(sa.select(User.name).order_by(User.name)).scalars()}
    for grantee, target, role in conn.execute(sa.select(GRANTS.c.grantee, GRANTS.c.target,
                                                        GRANTS.c.role)):
        users.setdefault(grantee, {})[target] = role
    return [{"name": name, "grants": grants} for name, grants in users.items()]


def grant(conn: Connection, grantee: str, targets: Iterable[str], role: str,
          known_targets: Iterable[str]) -> None:
    """Give `grantee` `role` on each target (replacing its earlier role there).

    `known_targets`: the layer ids and group names that exist (from the layer registry)."""
    if role not in ROLES:
        raise InvalidParameter(f"role must be one of {', '.join(ROLES)}")
    if not grantee.startswith(OIDC_GRANTEES):
        if conn.execute(sa.select(User.name).where(User.name == grantee)).first() is None:
            raise NotFound(f"no user named {grantee!r} (gisdb users add {grantee})")
    known = set(known_targets) | {ALL}
    for target in targets:
        if target not in known:
            raise InvalidParameter(f"no layer or group named {target!r}")
        stmt = postgresql.insert(GRANTS).values(grantee=grantee, target=target, role=role)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=[GRANTS.c.grantee, GRANTS.c.target],
            set_={"role": role, "granted_at": sa.func.now()}))


def revoke_grants(conn: Connection, grantee: str, targets: Iterable[str]) -> int:
    """Remove `grantee`'s grants on `targets`; returns how many were removed."""
    done = conn.execute(sa.delete(GRANTS).where(GRANTS.c.grantee == grantee,
                                                GRANTS.c.target.in_(list(targets))))
    return done.rowcount


def roles_of(conn: Connection, grantees: Iterable[str],
             layer_groups: Mapping[str, str]) -> dict[str, str]:
    """{layer id: highest role} of the grants held by any of `grantees`;
    `layer_groups` maps each layer id to its group."""
    rows = conn.execute(sa.select(GRANTS.c.target, GRANTS.c.role)
                        .where(GRANTS.c.grantee.in_(list(grantees)))).all()
    roles: dict[str, str] = {}
    for target, role in rows:
        for layer_id, group in layer_groups.items():
            if target in (ALL, group, layer_id):
                roles[layer_id] = higher_role(roles.get(layer_id), role)
    return roles
