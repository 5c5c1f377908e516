"""Response bodies: gzip at level 1 (on a
3.6 MB GeoJSON page level 6 took longer than the query; level 1 a third of that)."""
from __future__ import annotations

import zlib
from typing import Iterable, Iterator

GZIP_LEVEL = 1


def accepts_gzip(accept_encoding: str | None) -> bool:
    for part in (accept_encoding or "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip()
            return not (q.startswith("q=") and float(q[2:] or 0) == 0)
    return False


def gzipped(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """A gzip stream of `chunks`, compressed as they come."""
    comp = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    for chunk in chunks:
        out = comp.compress(chunk)
        if out:
            yield out
    yield comp.flush()
