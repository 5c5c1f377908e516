"""From a bearer credential to a `Principal`, with a short per-process cache.

API keys (`gdk_...`) are looked up by prefix and checked against their salted digest;
anything else is verified as an OpenID Connect token when an issuer is configured. A
verified credential is remembered for at most `CACHE_SECONDS` (5 s; never past a token's
`exp`), so a revoked key, a changed grant or a hidden layer's new readers take effect
within that bound on every process; the cache is keyed by a SHA-256 of the credential,
never the credential itself."""
from __future__ import annotations

import hashlib
import time
from typing import Mapping

import sqlalchemy as sa

from gisdb.errors import Unauthorized
from gisdb.settings import Settings

from .grants import roles_of
from .keys import KEY_PREFIX, find_key, touch_key
from .oidc import OidcVerifier
from .principal import Principal

CACHE_SECONDS = 5.0
MAX_CACHED = 10_000
TOUCH_SECONDS = 300.0


class Authenticator:
    """Turns credentials into principals for one process (the web app's, or a test's)."""

    def __init__(self, settings: Settings, layer_groups: Mapping[str, str]):
        """`layer_groups` maps every layer id to its group (from the layer registry)."""
        self.layer_groups = dict(layer_groups)
        self.oidc = OidcVerifier(settings) if settings.oidc_issuer else None
        self._cache: dict[bytes, tuple[float, Principal]] = {}
        self._touched: dict[str, float] = {}

    def principal(self, engine: sa.Engine, credential: str) -> Principal:
        """The principal of `credential`; Unauthorized(invalid_token) when it is not valid."""
        fingerprint = hashlib.sha256(credential.encode()).digest()
        now = time.monotonic()
        cached = self._cache.get(fingerprint)
        if cached is not None and cached[0] > now:
            return cached[1]
        if credential.startswith(KEY_PREFIX):
            principal, lifetime = self._key_principal(engine, credential), CACHE_SECONDS
        else:
            principal, lifetime = self._token_principal(engine, credential)
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        self._cache[fingerprint] = (now + lifetime, principal)
        return principal

    def _key_principal(self, engine: sa.Engine, key: str) -> Principal:
        """The user of an API key, with the roles granted to that user."""
        with engine.connect() as conn:
            owner = find_key(conn, key)
            if owner is None:
                raise Unauthorized("the API key is not valid (unknown, revoked or expired)",
                                   invalid_token=True)
            roles = roles_of(conn, [owner.user_name], self.layer_groups)
        self._mark_used(engine, owner.key_name)
        return Principal(name=owner.user_name, kind="key", subject=owner.key_name, roles=roles)

    def _token_principal(self, engine: sa.Engine, token: str) -> tuple[Principal, float]:
        """The subject of an OIDC token, with the roles of its subject and groups."""
        if self.oidc is None:
            raise Unauthorized("the credential is not an API key and no OpenID Connect "
                               "issuer is configured", invalid_token=True)
        claims = self.oidc.claims(token)
        subject = str(claims["sub"])
        grantees = [f"oidc-sub:{subject}"] + [f"oidc-group:{g}" for g in self.oidc.groups(claims)]
        with engine.connect() as conn:
            roles = roles_of(conn, grantees, self.layer_groups)
        name = claims.get("preferred_username") or claims.get("email") or subject
        lifetime = min(CACHE_SECONDS, max(0.0, float(claims["exp"]) - time.time()))
        return Principal(name=str(name), kind="oidc", subject=subject, roles=roles), lifetime

    def _mark_used(self, engine: sa.Engine, key_name: str) -> None:
        """Record the key's use at most once per TOUCH_SECONDS per process (best effort:
        a failure never refuses the request)."""
        now = time.monotonic()
        if now - self._touched.get(key_name, -TOUCH_SECONDS) < TOUCH_SECONDS:
            return
        self._touched[key_name] = now
        try:
            with engine.connect().execution_options(postgresql_readonly=False) as conn:
                touch_key(conn, key_name)
                conn.commit()
        except sa.exc.DBAPIError:
            pass
