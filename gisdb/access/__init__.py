"""Who may do what: principals (API keys, OpenID Connect tokens), per-layer roles
(read < edit < admin) from grants on layers, groups of layers or `*`, and the layers
hidden from anonymous readers. The web (`webmap.authz`) and the command line
(`gisdb users`, `gisdb keys`, `gisdb layers hide`) share this one implementation."""
from __future__ import annotations

from .principal import ROLES, Principal

__all__ = ["ROLES", "Principal"]
