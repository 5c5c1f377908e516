"""Reading ahead: the next batch is read and prepared on a background thread while the
current one is being copied into the database.

GDAL reading, shapely's vectorised work and psycopg's socket writes all release the GIL,
so the reader (one core) and PostgreSQL (the other) overlap instead of taking turns. At
most `depth` prepared batches wait in the queue, so memory stays flat with file size."""
from __future__ import annotations

import queue
import threading
from typing import Iterator, TypeVar

T = TypeVar("T")
_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def read_ahead(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Yield the items of `items`, produced by a background thread `depth` ahead.
    An exception in the producer is raised in the consumer, at the item it would have
    produced; if the consumer stops early, the producer is told to stop and closed."""
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value) -> bool:
        while not stop.is_set():
            try:
                slots.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    break
            else:
                put(_DONE)
        except BaseException as exc:      # handed over to the consumer, raised there
            put(_Failure(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="gisdb-import-reader", daemon=True)
    worker.start()
    try:
        while True:
            value = slots.get()
            if value is _DONE:
                return
            if isinstance(value, _Failure):
                raise value.exc
            yield value
    finally:
        stop.set()
        worker.join()
