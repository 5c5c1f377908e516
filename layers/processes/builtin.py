"""The processes the system offers out of the box, registered on first use of the
registry (layers.processes.catalogue.registry)."""
from __future__ import annotations

from .catalogue import register
from .check_process import CheckProcess
from .count_within import CountWithin
from .impact_process import ImpactProcess
from .report_process import WardReportProcess


def register_builtin() -> None:
    """Register every built-in process."""
    register(CountWithin())
    register(CheckProcess())
    register(ImpactProcess())
    register(WardReportProcess())
