"""Reading ahead (`gisdb.importing.prefetch.read_ahead`): batches come in file order,
a reading error surfaces in the importer, stopping early stops and closes the reader,
and the reader never runs more than a batch or two ahead (memory stays flat)."""
from __future__ import annotations

import threading
import time

import pytest

from gisdb.errors import ImportFailed
from gisdb.importing.prefetch import read_ahead


def test_items_come_in_order():
    assert list(read_ahead(iter(range(1000)))) == list(range(1000))


def test_reader_error_is_raised_in_the_consumer_after_the_good_items():
    def items():
        yield 1
        yield 2
        raise ImportFailed("reading stopped at feature 3")

    seen = []
    with pytest.raises(ImportFailed, match="feature 3"):
        for item in read_ahead(items()):
            seen.append(item)
    assert seen == [1, 2]


def test_stopping_early_closes_the_reader_and_bounds_read_ahead():
    produced, closed = [], threading.Event()

    def items():
        try:
            for i in range(10_000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    chunks = read_ahead(items(), depth=1)
    assert next(chunks) == 0
    time.sleep(0.3)                 # give the reader every chance to run ahead
    assert len(produced) <= 3       # the one consumed, one queued, one waiting to be queued
    chunks.close()
    assert closed.wait(2)
    assert len(produced) <= 4
