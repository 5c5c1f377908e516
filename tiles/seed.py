"""Seeding: render every tile of some layers over a zoom range and a bounding box into an
MBTiles (SQLite, spec 1.3) or PMTiles (v3, via the `pmtiles` package's writer) archive,
for offline use or for serving from a CDN.

Tiles are rendered by the same `VectorTiles` as the server (same SQL, generalisation and
zoom ranges) and stored gzipped, as both formats expect for MVT. Empty tiles are not
stored. The archive is written to a temporary file beside the target and renamed when
complete, so a failed or interrupted seed never leaves a half-written archive.
"""
from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from gisdb.bbox import Box
from gisdb.bbox import parse_bbox as parse_box
from gisdb.errors import InvalidParameter
from layers.extent import layers_extent

from .grid import count_tiles_in_bbox, tiles_in_bbox
from .tilejson import WORLD_BOUNDS, tilejson
from .vector import VectorTiles

FORMATS = (".mbtiles", ".pmtiles")


@dataclass(frozen=True)
class SeedResult:
    path: Path
    visited: int            # tiles rendered (or found empty)
    written: int            # non-empty tiles stored in the archive
    bytes: int              # archive size


def parse_bbox(text: str | None) -> Box | None:
    """'west,south,east,north' in degrees (gisdb.bbox's parser), or None."""
    if text is None:
        return None
    return parse_box(text)


def data_bounds(conn, layers) -> tuple[float, float, float, float]:
    """Extent of the layers' data in degrees (exact: seeding is offline)."""
    box = layers_extent(conn, layers, estimated=False)
    if box is None:
        raise InvalidParameter("the layers hold no data; give --bbox")
    return tuple(box)


def seed(service: VectorTiles, layers: list, zooms: tuple[int, int], out: Path, *,
         bbox: tuple[float, float, float, float] | None = None,
         progress: Callable[[int, int], None] | None = None, overwrite: bool = False) -> SeedResult:
    """Render `layers` at zooms[0]..zooms[1] over `bbox` (default: the data's extent)."""
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise InvalidParameter(f"the output must end in {' or '.join(FORMATS)}, got {out.name!r}")
    if out.exists() and not overwrite:
        raise InvalidParameter(f"{out} exists (use --overwrite to replace it)")
    if bbox is None:
        with service.engine.connect() as conn:
            bbox = data_bounds(conn, layers)
    total = sum(count_tiles_in_bbox(bbox, z) for z in range(zooms[0], zooms[1] + 1))
    tiles = _render(service, layers, zooms, bbox, total, progress)
    doc = tilejson(layers, "", list(bbox) if bbox else list(WORLD_BOUNDS))
    doc["minzoom"], doc["maxzoom"] = zooms
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".seed-", suffix=out.suffix)
    os.close(fd)
    try:
        if out.suffix.lower() == ".mbtiles":
            written = _write_mbtiles(Path(tmp), tiles, doc)
            if not written:
                raise InvalidParameter("no tile holds data in this bbox and zoom range")
        else:
            written = _write_pmtiles(Path(tmp), tiles, doc)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return SeedResult(out, total, written, out.stat().st_size)


def _render(service, layers, zooms, bbox, total, progress):
    """Yield (z, x, y, gzipped bytes) of every non-empty tile, reporting progress."""
    done = 0
    if progress:
        progress(0, total)
    for z in range(zooms[0], zooms[1] + 1):
        for tile in tiles_in_bbox(bbox, z):
            result = service.render(layers, tile)
            done += 1
            if progress and (done % 16 == 0 or done == total):
                progress(done, total)
            if not result.empty:
                yield tile.z, tile.x, tile.y, result.gzipped


def _write_mbtiles(path: Path, tiles, doc: dict) -> int:
    db = sqlite3.connect(path)
    try:
        db.executescript(
            "CREATE TABLE metadata (name TEXT, value TEXT);"
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,"
            " tile_data BLOB);"
            "CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);")
        written = 0
        for z, x, y, data in tiles:
            db.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, (1 << z) - 1 - y, data))
            written += 1
        west, south, east, north = doc["bounds"]
        meta = {
            "name": doc["name"], "format": "pbf", "type": "overlay", "version": "1.3",
            "description": doc["description"], "attribution": doc["attribution"],
            "minzoom": str(doc["minzoom"]), "maxzoom": str(doc["maxzoom"]),
            "bounds": f"{west},{south},{east},{north}",
            "center": ",".join(str(v) for v in doc["center"]),
            "json": json.dumps({"vector_layers": doc["vector_layers"]}, ensure_ascii=False),
        }
        db.executemany("INSERT INTO metadata VALUES (?, ?)", meta.items())
        db.commit()
    finally:
        db.close()
    return written


def _write_pmtiles(path: Path, tiles, doc: dict) -> int:
    entries = sorted((zxy_to_tileid(z, x, y), data) for z, x, y, data in tiles)
    if not entries:
        raise InvalidParameter("no tile holds data in this bbox and zoom range")
    west, south, east, north = doc["bounds"]
    centre = doc["center"]
    with open(path, "wb") as fh:
        writer = Writer(fh)
        for tile_id, data in entries:
            writer.write_tile(tile_id, data)
        writer.finalize({
            "tile_type": TileType.MVT, "tile_compression": Compression.GZIP,
            "min_lon_e7": int(west * 1e7), "min_lat_e7": int(south * 1e7),
            "max_lon_e7": int(east * 1e7), "max_lat_e7": int(north * 1e7),
            "center_zoom": int(centre[2]), "center_lon_e7": int(centre[0] * 1e7),
            "center_lat_e7": int(centre[1] * 1e7),
        }, {"name": doc["name"], "description": doc["description"],
            "attribution": doc["attribution"], "vector_layers": doc["vector_layers"]})
    return len(entries)
