"""The per-process set of hidden layers is read again ahead of time: a request in the
second half of its CHECK_SECONDS answers at once with the set it has while one background
thread reads the new one; past CHECK_SECONDS a request waits for a fresh set, so no
answer ever follows a set older than that."""
from __future__ import annotations

import time

from gisdb.access import visibility
from gisdb.access.visibility import HiddenLayerCache, hide_layer, show_layer

LAYER = "roads"
CHECK_SECONDS = 2.0     # a wider window than the shipped one: a busy machine's refresh fits


def _set_hidden(engine, hidden: bool) -> None:
    with engine.begin() as conn:
        (hide_layer if hidden else show_layer)(conn, LAYER)


def test_a_change_arrives_in_the_background_then_within_the_bound(engine, sample_city, monkeypatch):
    monkeypatch.setattr(visibility, "CHECK_SECONDS", CHECK_SECONDS)
    cache = HiddenLayerCache()
    assert LAYER not in cache.get(engine)            # first read: waits for the set
    _set_hidden(engine, True)
    try:
        time.sleep(CHECK_SECONDS * 0.6)
        started = time.monotonic()
        assert LAYER not in cache.get(engine)        # at once, the refresh behind it
        assert time.monotonic() - started < 0.05
        deadline = time.monotonic() + CHECK_SECONDS * 0.38
        while LAYER not in cache.get(engine) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert LAYER in cache.get(engine), "the background refresh did not arrive"
        _set_hidden(engine, False)
        time.sleep(CHECK_SECONDS + 0.05)
        assert LAYER not in cache.get(engine)        # past the bound: read before answering
    finally:
        _set_hidden(engine, False)
