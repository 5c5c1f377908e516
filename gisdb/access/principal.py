"""The principal of a request or command: who it is and its role on each layer."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

# Roles in increasing order: each implies the ones before it.
ROLES = ("read", "edit", "admin")
_RANK = {role: rank for rank, role in enumerate(ROLES, start=1)}


def role_rank(role: str | None) -> int:
    """0 for no role, then 1 (read), 2 (edit), 3 (admin)."""
    return _RANK.get(role or "", 0)


def higher_role(a: str | None, b: str | None) -> str | None:
    """The higher of two roles (None counts as no role)."""
    return a if role_rank(a) >= role_rank(b) else b


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: `kind` is "key" (an API key's user) or "oidc" (a token's
    subject); `roles` maps layer ids to the highest role granted on them."""

    name: str
    kind: str
    subject: str
    roles: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)

    def role_for(self, layer_id: str) -> str | None:
        """The role on `layer_id`: "read", "edit", "admin" or None."""
        return self.roles.get(layer_id)

    def can(self, layer_id: str, role: str) -> bool:
        """True when the role on `layer_id` is `role` or implies it."""
        if role not in _RANK:
            raise ValueError(f"unknown role {role!r}")
        return role_rank(self.role_for(layer_id)) >= _RANK[role]
