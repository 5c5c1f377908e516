"""The size bound of a vector tile: no gzipped tile above `MAX_TILE_BYTES`, whatever the
layers and the data volume.

The registry's zoom ranges and the generalisation policy (tiles.generalise) keep the
sample city's tiles well under it; a tile that still comes out heavier (a layer denser
than any planned for, a composite of many dense layers) is drawn again with every layer
capped to a feature budget, largest features first, and points clustered, the budget
halving until the tile fits. Only such tiles pay for a second statement, and the cache
keeps the result."""
from __future__ import annotations

from typing import Callable

MAX_TILE_BYTES = 500 * 1024     # gzipped (issue 16)
FIRST_BUDGET = 16_000           # features of a re-drawn tile, shared by its layers
LAST_BUDGET = 250


def bounded(render: Callable[[int | None], tuple[bytes, dict]],
            pack: Callable[[bytes], bytes]) -> tuple[bytes, dict]:
    """(packed tile, versions) of `render(budget)` (budget None: the normal plan), drawn
    again with smaller budgets while the packed tile exceeds MAX_TILE_BYTES."""
    raw, versions = render(None)
    packed, budget = pack(raw), FIRST_BUDGET
    while len(packed) > MAX_TILE_BYTES and budget >= LAST_BUDGET:
        raw, versions = render(budget)
        packed, budget = pack(raw), budget // 2
    return packed, versions
