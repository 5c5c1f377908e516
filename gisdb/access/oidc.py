"""OpenID Connect bearer tokens: JWTs signed by the configured issuer (RS256 or ES256),
checked for signature, `iss`, `aud`, `exp` and `nbf` (with a minute of leeway).

The issuer's keys come from `GISDB_OIDC_JWKS_URL`, or from the `jwks_uri` of the
issuer's `/.well-known/openid-configuration`; they are fetched on first use and again
when a token names an unknown `kid`, at most once per `REFRESH_SECONDS`."""
from __future__ import annotations

import json
import threading
import time
import urllib.request

import jwt

from gisdb.errors import ConfigurationError, Unauthorized
from gisdb.settings import Settings

ALGORITHMS = ("RS256", "ES256")
LEEWAY_SECONDS = 60
REFRESH_SECONDS = 30.0
FETCH_TIMEOUT_SECONDS = 5.0
MAX_DOCUMENT_BYTES = 1_000_000


def _fetch_json(url: str) -> dict:
    """GET a small JSON document from the identity provider."""
    if not url.startswith(("https://", "http://")):
        raise ConfigurationError("OIDC URLs must be http(s)")
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as resp:  # noqa: S310
        return json.loads(resp.read(MAX_DOCUMENT_BYTES))


class OidcVerifier:
    """Verifies the tokens of one issuer; one per process, shared by threads."""

    def __init__(self, settings: Settings):
        """Keep the issuer's settings; nothing is fetched before the first token."""
        if not (settings.oidc_issuer and settings.oidc_audience):
            raise ConfigurationError("GISDB_OIDC_ISSUER and GISDB_OIDC_AUDIENCE are both needed")
        self.issuer = settings.oidc_issuer
        self.audience = settings.oidc_audience
        self.roles_claim = settings.oidc_roles_claim
        self._jwks_url = settings.oidc_jwks_url
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -REFRESH_SECONDS
        self._lock = threading.Lock()
        self.refresh_seconds = REFRESH_SECONDS

    def _jwks_location(self) -> str:
        """The key set's URL: configured, or from the issuer's discovery document."""
        if self._jwks_url is None:
            doc = _fetch_json(self.issuer + "/.well-known/openid-configuration")
            self._jwks_url = str(doc["jwks_uri"])
        return self._jwks_url

    def _refresh(self) -> None:
        """Fetch the key set again unless that was done less than `refresh_seconds` ago."""
        with self._lock:
            if time.monotonic() - self._fetched_at < self.refresh_seconds:
                return
            self._fetched_at = time.monotonic()
            try:
                keys = jwt.PyJWKSet.from_dict(_fetch_json(self._jwks_location())).keys
            except (OSError, ValueError, KeyError, jwt.PyJWTError):
                return          # keep the keys we have; unknown kids stay unknown
            self._keys = {k.key_id: k for k in keys if k.key_id}

    def _key_for(self, kid: str) -> jwt.PyJWK:
        """The issuer's key `kid` (fetching the key set when it is not known yet)."""
        if kid not in self._keys:
            self._refresh()
        try:
            return self._keys[kid]
        except KeyError:
            raise Unauthorized("the token's signing key is unknown", invalid_token=True) from None

    def claims(self, token: str) -> dict:
        """The verified claims of `token`; Unauthorized(invalid_token) when anything fails."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("the token is not a valid JWT", invalid_token=True) from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS or not isinstance(kid, str):
            raise Unauthorized("the token's algorithm or key id is not accepted",
                               invalid_token=True)
        key = self._key_for(kid)
        try:
            return jwt.decode(token, key.key, algorithms=[alg], audience=self.audience,
                              issuer=self.issuer, leeway=LEEWAY_SECONDS,
                              options={"require": ["exp", "iss", "aud", "sub"]})
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"the token was refused: {_reason(exc)}",
                               invalid_token=True) from None

    def groups(self, claims: dict) -> list[str]:
        """The token's groups (the roles claim: a list of names or one name)."""
        value = claims.get(self.roles_claim)
        if isinstance(value, str):
            return [value]
        if isinstance(value, list):
            return [v for v in value if isinstance(v, str)]
        return []


def _reason(exc: jwt.PyJWTError) -> str:
    """A short, secret-free reason for a refused token."""
    reasons = {jwt.ExpiredSignatureError: "expired", jwt.InvalidAudienceError: "wrong audience",
               jwt.InvalidIssuerError: "wrong issuer", jwt.ImmatureSignatureError: "not yet valid",
               jwt.InvalidSignatureError: "bad signature",
               jwt.MissingRequiredClaimError: "a required claim is missing"}
    for cls, text in reasons.items():
        if isinstance(exc, cls):
            return text
    return "invalid"
