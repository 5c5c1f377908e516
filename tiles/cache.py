"""The tile cache shared by every kind of tile (MVT, PNG, raster).

A tile's cache key and its ETag are both derived from what the tile shows: its kind,
layers, z/x/y, options (filter, scale, ...) AND the data versions of its layers
(`meta.layer_versions`). An edit bumps a version, so the next request computes a new key
and renders afresh: no restart, no purge, no stale tile. Old entries simply stop being
asked for and age out of the size-bounded disk cache (least recently used first).

Two levels: a small in-process LRU for hot tiles, and files under
`settings.tile_cache_dir` (shared by all server processes) bounded by
`settings.tile_cache_mb`. A size of 0 disables both (benchmarks of the uncached path).
Rendering errors propagate and store nothing, so a timeout never becomes a cached tile.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

MB = 1024 * 1024


def tile_etag(key_parts: tuple, versions: Mapping[str, int]) -> str:
    """The tag of a tile: a hash of what it shows and of its layers' data versions. The
    web layer writes it as the ETag header (webmap.caching) and answers 304 with it."""
    return cache_key(key_parts, versions)[:32]


def cache_key(key_parts: tuple, versions: Mapping[str, int]) -> str:
    """Hex digest naming a tile in the cache (same inputs as the ETag)."""
    text = repr(tuple(key_parts)) + "|" + repr(sorted((str(k), int(v)) for k, v in versions.items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedTile:
    """Bytes of a tile as stored (already encoded by the renderer), its tag (see
    `tile_etag`), and whether it came from the cache."""

    data: bytes
    etag: str
    hit: bool


class _MemoryLRU:
    """Byte-bounded in-process LRU, safe across the threads of one worker."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key: str, data: bytes) -> None:
        if len(data) > self.max_bytes // 8:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._items[key] = data
            self._size += len(data)
            while self._size > self.max_bytes and self._items:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0


class TileCache:
    """Disk + memory tile cache. Use `get_or_render`; everything else is plumbing."""

    def __init__(self, directory: Path, max_mb: int, memory_mb: int | None = None):
        self.directory = Path(directory)
        self.max_bytes = max(0, int(max_mb)) * MB
        memory = min(64, max(1, int(max_mb) // 8)) if memory_mb is None else memory_mb
        self.enabled = self.max_bytes > 0
        self._memory = _MemoryLRU(memory * MB if self.enabled else 0)
        self._disk_size: int | None = None      # learnt lazily, re-measured on prune
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings) -> "TileCache":
        """The cache of a `gisdb.settings.Settings` (data/tile-cache, tile_cache_mb)."""
        return cls(settings.tile_cache_dir, settings.tile_cache_mb)

    # -- the API -------------------------------------------------------------------------
    def get_or_render(self, key_parts: tuple, versions: Mapping[str, int],
                      render: Callable[[], bytes]) -> CachedTile:
        """The cached bytes of this tile, or `render()`'s result, stored then returned.

        `key_parts` names the tile without its data (e.g. ("mvt", "roads,buildings", z, x,
        y, filter)); `versions` maps each shown table to its data version."""
        key = cache_key(key_parts, versions)
        etag = key[:32]
        if self.enabled:
            data = self._memory.get(key)
            if data is None:
                data = self._read(key)
                if data is not None:
                    self._memory.put(key, data)
            if data is not None:
                return CachedTile(data, etag, True)
        data = render()
        if self.enabled:
            self._memory.put(key, data)
            self._write(key, data)
        return CachedTile(data, etag, False)

    def clear(self) -> None:
        """Forget every cached tile (memory and disk)."""
        self._memory.clear()
        for path in self._files():
            path.unlink(missing_ok=True)
        self._disk_size = 0

    def disk_usage(self) -> int:
        """Bytes currently used on disk by cached tiles."""
        return sum(p.stat().st_size for p in self._files())

    # -- disk ------------------------------------------------------------------------------
    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / (key + ".tile")

    def _files(self):
        if not self.directory.is_dir():
            return []
        return list(self.directory.glob("*/*.tile"))

    def _read(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        try:
            os.utime(path)               # mtime = last use, for LRU pruning
        except OSError:
            pass
        return data

    def _write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except OSError:
            return                        # a full or read-only disk must not fail a request
        with self._lock:
            if self._disk_size is None:
                self._disk_size = self.disk_usage()
            else:
                self._disk_size += len(data)
            if self._disk_size > self.max_bytes:
                self._prune()

    def _prune(self) -> None:
        """Delete least recently used files until the cache is at 90% of its bound."""
        entries = []
        for path in self._files():
            try:
                st = path.stat()
            except OSError:
                continue
            entries.append((st.st_mtime, st.st_size, path))
        entries.sort()
        total = sum(size for _, size, _ in entries)
        target = int(self.max_bytes * 0.9)
        for _, size, path in entries:
            if total <= target:
                break
            path.unlink(missing_ok=True)
            total -= size
        self._disk_size = total
