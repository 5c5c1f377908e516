"""Which layers the current caller may see. The web sets, per request, the layers hidden
from its caller (`gisdb layers hide`, less those it holds a role on); the registry's
`get_layer` then answers NotFound for them and `visible_layers` leaves them out, so
every listing, document, query and tile follows. Outside a request (the command line,
imports, seeding) nothing is hidden."""
from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Iterable

_HIDDEN: ContextVar[frozenset[str]] = ContextVar("gisdb_hidden_layers", default=frozenset())


def hide_from_caller(layer_ids: Iterable[str]) -> Token:
    """Hide `layer_ids` from the current context; returns the token for `reset_caller`."""
    return _HIDDEN.set(frozenset(layer_ids))


def reset_caller(token: Token) -> None:
    """Undo `hide_from_caller` (at the end of a request)."""
    _HIDDEN.reset(token)


def hidden_from_caller(layer_id: str) -> bool:
    """True when `layer_id` is hidden from the current caller."""
    return layer_id in _HIDDEN.get()


def visible_ids(layer_ids: Iterable[str]) -> list[str]:
    """`layer_ids` without those hidden from the current caller, order kept."""
    hidden = _HIDDEN.get()
    return [i for i in layer_ids if i not in hidden]
