"""Who is calling, and may they: the web side of `gisdb.access`.

`current_principal()` reads `Authorization: Bearer <credential>` (API keys start with
`gdk_`, anything else is tried as an OpenID Connect token); a bad credential is a 401
even on a public read, never a silent fall back to anonymous. `require(layer_ids, role)`
raises the `gisdb.errors` that `webmap.errors` maps to 401 (with `WWW-Authenticate`)
and 403. Each request also hides from its caller the layers hidden from anonymous
readers that it holds no role on (`layers.visibility`), so listings, documents, items,
queries and tiles leave them out."""
from __future__ import annotations

from typing import Iterable

from flask import Flask, current_app, g, request

from gisdb.access.authenticate import Authenticator
from gisdb.access.principal import Principal
from gisdb.access.visibility import HiddenLayerCache
from gisdb.errors import Forbidden, Unauthorized, WritesDisabled
from layers.registry import layer_groups
from layers.visibility import CallerScope, enter_scope, leave_scope

from .services import services

_NO_PRINCIPAL = object()


def install(app: Flask) -> None:
    """Per-process authentication and hidden-layer caches, and the per-request hooks."""
    app.extensions["gisdb.authenticator"] = Authenticator(
        app.extensions["gisdb"].settings, layer_groups())
    app.extensions["gisdb.hidden"] = HiddenLayerCache()
    app.before_request(_scope_request)
    app.after_request(_vary)
    app.teardown_request(_end_scope)


def hidden_layers(app: Flask) -> frozenset[str]:
    """The layers hidden from anonymous readers (cached per process, see HiddenLayerCache;
    read on the primary, like credentials: access follows no lagging replica)."""
    return app.extensions["gisdb.hidden"].get(app.extensions["gisdb"].primary)


def current_principal() -> Principal | None:
    """The caller of this request: None when anonymous; Unauthorized for a credential
    that is malformed, unknown, revoked, expired or otherwise not valid."""
    found = g.get("gisdb_principal", _NO_PRINCIPAL)
    if found is not _NO_PRINCIPAL:
        return found
    header = request.headers.get("Authorization")
    principal = None
    if header is not None:
        scheme, _, credential = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise Unauthorized("send the credential as 'Authorization: Bearer <key or token>'",
                               invalid_token=True)
        principal = current_app.extensions["gisdb.authenticator"].principal(
            services().primary, credential.strip())
    g.gisdb_principal = principal
    return principal


def writes_enabled() -> bool:
    """True when this server accepts writes (GISDB_WRITES=on)."""
    return services().settings.writes


def require(layer_ids: Iterable[str], role: str, *, write: bool | None = None) -> Principal:
    """The caller, when it holds `role` on every layer of `layer_ids` (ids, or one id).

    `write` (default: the role is edit or admin) marks a change of data: refused with
    WritesDisabled while GISDB_WRITES is off. No credential: Unauthorized (401); a
    credential without the role: Forbidden (403)."""
    layer_ids = [layer_ids] if isinstance(layer_ids, str) else list(layer_ids)
    if (role != "read" if write is None else write) and not writes_enabled():
        raise WritesDisabled("writes are off on this server (GISDB_WRITES=off)")
    principal = current_principal()
    if principal is None:
        raise Unauthorized(f"this request needs a credential with the {role} role")
    missing = [layer_id for layer_id in layer_ids if not principal.can(layer_id, role)]
    if missing:
        raise Forbidden(f"{principal.name} lacks the {role} role on {', '.join(missing)}")
    return principal


def _scope_request() -> None:
    """Authenticate a request that carries a credential, and give it the scope that
    hides from its caller the hidden layers it may not read (looked up on first use)."""
    app = current_app._get_current_object()
    principal = current_principal() if "Authorization" in request.headers else None

    def find() -> frozenset[str]:
        hidden = hidden_layers(app)
        if principal is None:
            return hidden
        return frozenset(i for i in hidden if not principal.can(i, "read"))

    g.gisdb_caller = CallerScope(find)
    g.gisdb_scope = enter_scope(g.gisdb_caller)


def caller_scope() -> str | None:
    """What makes this caller's answers differ from everyone's (mixed into ETags): its
    principal and roles, or the layers hidden from it when the answer looked at them;
    None when nothing does."""
    principal = g.get("gisdb_principal")
    if principal is not None:
        return f"principal {principal.kind}:{principal.subject} {sorted(principal.roles.items())}"
    caller = g.get("gisdb_caller")
    hidden = caller.known() if caller is not None else None
    return f"hidden {sorted(hidden)}" if hidden else None


def _vary(response):
    """Responses that depend on the caller say so to shared caches."""
    caller = g.get("gisdb_caller")
    if (caller is not None and caller.known()) or "Authorization" in request.headers:
        response.vary.add("Authorization")
    return response


def _end_scope(_exc) -> None:
    """Forget the request's hidden layers."""
    token = g.pop("gisdb_scope", None)
    if token is not None:
        leave_scope(token)
