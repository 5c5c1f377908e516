"""The process registry: every process the system offers, by id."""
from __future__ import annotations

from gisdb.errors import NotFound

from .process import Process

_PROCESSES: dict[str, Process] = {}


def register(process: Process) -> Process:
    """Add `process` (a later one with the same id replaces it); returns it."""
    if not process.id or process.id != process.id.strip().lower():
        raise ValueError(f"a process id is lowercase, got {process.id!r}")
    _PROCESSES[process.id] = process
    return process


def registry() -> dict[str, Process]:
    """Every registered process by id, the built-in ones registered on first use."""
    if not _PROCESSES:
        from .builtin import register_builtin
        register_builtin()
    return dict(_PROCESSES)


def get_process(process_id: str) -> Process:
    """The process with this id; NotFound (a 404 on the web) otherwise."""
    found = registry().get(process_id)
    if found is None:
        raise NotFound(f"no process named {str(process_id)[:64]!r}")
    return found
