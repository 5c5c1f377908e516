"""OpenID Connect bearer tokens against a local identity provider: the test makes RSA and
EC key pairs, serves a discovery document and a JWKS from a thread on 127.0.0.1, signs
tokens, and checks that only a good token (right issuer, audience, signature, time, a
known key) is accepted, with the roles granted to its groups; key rotation is picked up
and unknown key ids refetch the key set at most once per refresh interval."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from access_fixtures import make_key
from gisdb.access.grants import grant
from layers.layer import GROUPS
from layers.registry import layer_ids

AUDIENCE = "gisdb-test"


class IdentityProvider:
    """Discovery + JWKS over HTTP; counts the JWKS fetches."""

    def __init__(self):
        self.keys: dict[str, object] = {}
        self.jwks_fetches = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's spelling
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": provider.issuer, "jwks_uri": provider.issuer + "/jwks"}
                elif self.path == "/jwks":
                    provider.jwks_fetches += 1
                    body = provider.jwks()
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add_key(self, kid: str, private) -> None:
        self.keys[kid] = private

    def jwks(self) -> dict:
        out = []
        for kid, private in self.keys.items():
            alg = "RS256" if isinstance(private, rsa.RSAPrivateKey) else "ES256"
            algo = jwt.get_algorithm_by_name(alg)
            jwk = json.loads(algo.to_jwk(private.public_key()))
            out.append({**jwk, "kid": kid, "use": "sig", "alg": alg})
        return {"keys": out}

    def token(self, kid: str, *, key=None, alg=None, **claims) -> str:
        private = key or self.keys[kid]
        alg = alg or ("RS256" if isinstance(private, rsa.RSAPrivateKey) else "ES256")
        now = int(time.time())
        body = {"iss": self.issuer, "aud": AUDIENCE, "sub": "user-123", "iat": now,
                "exp": now + 300, "preferred_username": "lan.nguyen",
                "groups": ["planners"], **claims}
        return jwt.encode(body, private, algorithm=alg, headers={"kid": kid})


def _rsa():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def idp():
    provider = IdentityProvider()
    provider.add_key("rsa-1", _rsa())
    provider.add_key("ec-1", ec.generate_private_key(ec.SECP256R1()))
    yield provider
    provider.server.shutdown()


@pytest.fixture(scope="module")
def oidc_app(settings, engine, sample_city, idp):
    from webmap.app import create_app
    with engine.begin() as conn:
        grant(conn, "oidc-group:planners", ["land"], "edit", [*layer_ids(), *GROUPS])
        grant(conn, "oidc-sub:user-123", ["roads"], "admin", [*layer_ids(), *GROUPS])
    app = create_app({"TESTING": True, "SETTINGS": replace(
        settings, oidc_issuer=idp.issuer, oidc_audience=AUDIENCE)})
    yield app
    app.extensions["gisdb"].engine.dispose()


def _me(app, token: str):
    return app.test_client().get("/auth/me", headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1"])
def test_good_token_gets_its_groups_roles(oidc_app, idp, kid):
    resp = _me(oidc_app, idp.token(kid))
    assert resp.status_code == 200, resp.json
    doc = resp.json
    assert doc["kind"] == "oidc" and doc["name"] == "lan.nguyen"
    assert doc["roles"]["parcels"] == "edit" and doc["roles"]["roads"] == "admin"
    assert "buildings" not in doc["roles"]


def _unsigned(idp) -> str:
    return jwt.encode({"iss": idp.issuer, "aud": AUDIENCE, "sub": "x",
                       "exp": int(time.time()) + 300}, None, algorithm="none",
                      headers={"kid": "rsa-1"})


BAD = {
    "expired": lambda idp: idp.token("rsa-1", exp=int(time.time()) - 3600),
    "not yet valid": lambda idp: idp.token("rsa-1", nbf=int(time.time()) + 3600),
    "wrong audience": lambda idp: idp.token("rsa-1", aud="another-app"),
    "wrong issuer": lambda idp: idp.token("rsa-1", iss="https://evil.example"),
    "bad signature": lambda idp: idp.token("rsa-1", key=_rsa()),
    "no subject": lambda idp: idp.token("rsa-1", sub=None),
    "alg none": _unsigned,
    "HS256 with the public key": lambda idp: jwt.encode(
        {"iss": idp.issuer, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 300},
        b"k" * 32, algorithm="HS256", headers={"kid": "rsa-1"}),
    "tampered": lambda idp: idp.token("rsa-1")[:-8] + "AAAAAAAA",
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_tokens_are_401_invalid_token(oidc_app, idp, case):
    token = BAD[case](idp)
    resp = _me(oidc_app, token)
    assert resp.status_code == 401, (case, resp.json)
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="gisdb", error="invalid_token"'
    assert token not in resp.get_data(as_text=True)
    assert set(resp.json) == {"code", "description"}


def test_unknown_kid_refetches_at_most_once_per_interval(oidc_app, idp):
    verifier = oidc_app.extensions["gisdb.authenticator"].oidc
    _me(oidc_app, idp.token("rsa-1"))          # the key set is loaded
    verifier._fetched_at = time.monotonic() - verifier.refresh_seconds - 1
    fetches = idp.jwks_fetches
    stranger = _rsa()
    for _ in range(5):
        resp = _me(oidc_app, idp.token("unknown", key=stranger))
        assert resp.status_code == 401
    assert idp.jwks_fetches == fetches + 1


def test_rotated_key_is_picked_up(oidc_app, idp):
    verifier = oidc_app.extensions["gisdb.authenticator"].oidc
    idp.add_key("rsa-2", _rsa())
    verifier._fetched_at = time.monotonic() - verifier.refresh_seconds - 1
    assert _me(oidc_app, idp.token("rsa-2")).status_code == 200


def test_api_keys_still_work_beside_oidc(oidc_app, engine):
    key = make_key(engine, "beside_oidc", "read", "traffic")
    resp = _me(oidc_app, key)
    assert resp.status_code == 200 and resp.json["roles"]["roads"] == "read"
