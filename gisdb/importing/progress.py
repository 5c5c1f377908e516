"""Progress of an import: a tqdm bar on a terminal, plain lines otherwise (logs, CI,
pipes), so that a long import never looks stuck and never floods a log file."""
from __future__ import annotations

import sys
import time
from typing import TextIO

from tqdm import tqdm


class Progress:
    """`phase()` announces a step, `advance()` counts rows read."""

    def __init__(self, total: int | None, stream: TextIO | None = None, enabled: bool = True,
                 tty: bool | None = None):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.total = total
        self.done = 0
        self.tty = self.stream.isatty() if tty is None else tty
        self._bar = None
        self._last = 0.0

    def phase(self, text: str) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        print(f"import: {text}", file=self.stream, flush=True)

    def warn(self, text: str) -> None:
        """A warning staff must see while the import runs (a guessed CRS), even with
        progress off: it goes to the console at once, not only into the report."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        print(f"import: warning: {text}", file=self.stream, flush=True)

    def start_rows(self, label: str = "reading") -> None:
        if self.enabled and self.tty:
            self._bar = tqdm(total=self.total, unit=" rows", desc=label, file=self.stream,
                             unit_scale=True, dynamic_ncols=True)

    def advance(self, rows: int) -> None:
        self.done += rows
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(rows)
            return
        now = time.monotonic()
        if now - self._last >= 1.0 or (self.total and self.done >= self.total):
            self._last = now
            of = f"/{self.total:,}" if self.total else ""
            print(f"import: staged {self.done:,}{of} rows", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
