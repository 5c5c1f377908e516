"""Progress of a sample load on the console: a tqdm bar on a terminal, plain lines
(at most one per 10%) when the output is a file or a pipe."""
from __future__ import annotations

import sys


def console_progress(stream=None):
    """A `progress(done, total, stage)` callable writing to `stream` (stderr)."""
    stream = stream or sys.stderr
    if stream.isatty():
        from tqdm import tqdm
        bars = []

        def update(done, total, stage):
            if not bars:
                bars.append(tqdm(total=total, unit=" features", file=stream, dynamic_ncols=True))
            bar = bars[0]
            bar.total = total
            bar.set_description(stage, refresh=False)
            bar.update(done - bar.n)
            if stage == "analyze":
                bar.close()
        return update
    last = [-1]

    def line(done, total, stage):
        tenth = int(10 * done / max(total, 1))
        if tenth > last[0] or stage in ("indexes", "analyze"):
            last[0] = tenth
            print(f"sample: {done:,} / ~{total:,} features ({stage})", file=stream, flush=True)
    return line
