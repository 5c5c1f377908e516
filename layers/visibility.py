"""Which layers the current caller may see. The web sets, per request, how to find the
layers hidden from its caller (`gisdb layers hide`, less those it holds a role on); the
registry's `get_layer` then answers NotFound for them and `visible_layers` leaves them
out, so every listing, document, query and tile follows. The set is looked up only when
a request first asks (a base-map tile or a static file never does). Outside a request
(the command line, imports, seeding) nothing is hidden."""
from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Callable, Iterable


class CallerScope:
    """The layers hidden from one caller, found on first use and then kept."""

    def __init__(self, find: Callable[[], frozenset[str]]):
        """`find` returns the hidden layer ids (it may read the database)."""
        self._find = find
        self._hidden: frozenset[str] | None = None

    def hidden(self) -> frozenset[str]:
        """The hidden layer ids (looked up once)."""
        if self._hidden is None:
            self._hidden = frozenset(self._find())
        return self._hidden

    def known(self) -> frozenset[str] | None:
        """The hidden layer ids if they were looked up, else None."""
        return self._hidden


_NOTHING = CallerScope(frozenset)
_SCOPE: ContextVar[CallerScope] = ContextVar("gisdb_hidden_layers", default=_NOTHING)


def enter_scope(scope: CallerScope) -> Token:
    """Make `scope` the current caller's; returns the token for `leave_scope`."""
    return _SCOPE.set(scope)


def leave_scope(token: Token) -> None:
    """Undo `enter_scope` (at the end of a request)."""
    _SCOPE.reset(token)


def hidden_from_caller(layer_id: str) -> bool:
    """True when `layer_id` is hidden from the current caller."""
    return layer_id in _SCOPE.get().hidden()


def visible_ids(layer_ids: Iterable[str]) -> list[str]:
    """`layer_ids` without those hidden from the current caller, order kept."""
    hidden = _SCOPE.get().hidden()
    return [i for i in layer_ids if i not in hidden]
