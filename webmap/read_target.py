"""The replica a request reads from (None: the primary), set by webmap.read_routing for
each request before anything reads, and read by the services that hand out engines."""
from __future__ import annotations

from contextvars import ContextVar

from gisdb.replicas.health import Replica

_TARGET: ContextVar[Replica | None] = ContextVar("gisdb_read_target", default=None)


def read_target() -> Replica | None:
    """The replica of the current request, or None for the primary."""
    return _TARGET.get()


def read_from(replica: Replica | None) -> None:
    """Route the rest of the current request's reads to `replica` (None: the primary)."""
    _TARGET.set(replica)


def target_suffix() -> str:
    """'' on the primary, '@replica N' on a replica: per-target keys of built services."""
    replica = _TARGET.get()
    return "" if replica is None else "@" + replica.name
