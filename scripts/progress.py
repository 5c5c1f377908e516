"""Progress of long commands (imports, exports): a tqdm bar on a terminal, plain
lines when the output goes to a file or a pipe (logs, cron, CI)."""
from __future__ import annotations

import sys
import time

import click
from tqdm import tqdm


class ProgressReporter:
    """Callable `(done, total)`; use as a context manager so the bar is closed."""

    def __init__(self, label: str, *, unit: str = "rows", stream=None, interval_s: float = 5.0):
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.interval_s = interval_s
        self.bar: tqdm | None = None
        self.last_line = 0.0
        self.done = 0
        self.total = 0

    @property
    def on_terminal(self) -> bool:
        return bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        if self.on_terminal:
            if self.bar is None:
                self.bar = tqdm(total=total, desc=self.label, unit=self.unit, file=self.stream,
                                dynamic_ncols=True)
            self.bar.update(done - self.bar.n)
            return
        now = time.monotonic()
        if done == 0 or done >= total or now - self.last_line >= self.interval_s:
            self.last_line = now
            share = f" ({100 * done // total}%)" if total else ""
            click.echo(f"{self.label}: {done}/{total} {self.unit}{share}", file=self.stream)

    def __enter__(self) -> "ProgressReporter":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()
