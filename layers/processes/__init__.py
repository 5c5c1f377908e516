"""Analyses as processes (OGC API - Processes, Part 1 Core), without Flask: the process
registry (`register`, `registry`, `get_process`), input checking, the job store in
`meta.jobs` and the job runner. The web (`webmap/processes_views.py`) and `gisdb jobs`
are thin calls here."""
from .catalogue import get_process, register, registry
from .process import ConnectionFactory, Process, Progress, no_progress

__all__ = ["Process", "Progress", "ConnectionFactory", "no_progress", "register", "registry",
           "get_process"]
