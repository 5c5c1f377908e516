"""Building the tiles' overviews (`layers.overview_table`): each low-zoom line and
polygon layer generalised once per zoom band, refreshed when its data version changes.

A band's row of a feature is what a z-`band` tile draws of it (`tiles.generalise`'s
policy, applied ahead of time): features whose bounding box is under `MIN_SIZE_PX`
pixels are dropped, the rest simplified with a tolerance of `SIMPLIFY_PX` pixel and
snapped to the band's MVT grid (1/16 pixel, aligned with the tile grid: ST_AsMVTGeom's
own snapping then changes nothing), with the tile fields of the capped mode in `props`.

A refresh rebuilds one layer's bands in one transaction (DELETE and INSERT, never
TRUNCATE: readers keep reading the previous rows under MVCC and are never blocked) and
records the data version it read. It runs after the commit of every write (the write
API, `gisdb edit`, imports, the sample city) and from `gisdb tiles overviews`; a refresh
that finds its layer current does nothing, and concurrent refreshes of one layer queue
on an advisory lock. A tile reads a layer's overviews only when their recorded version
is the layer's current one, in the tile's own statement (tiles.mvt): otherwise (a DBA's
plain SQL, a refresh still running) it simplifies the live rows as before, so a stale
overview is never served.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert

from gisdb.engine import make_engine
from gisdb.versions import table_versions
from layers.overview_table import BANDS, OverviewFeature, OverviewState
from layers.registry import ALL_LAYERS, get_layer

from .generalise import CAPPED, EXTENT, MIN_SIZE_PX, SIMPLIFY_PX, fields_at, has_overviews
from .grid import ORIGIN, TILE_SIZE
from .mvt import attribute_value, bbox_size

LOG = logging.getLogger(__name__)
FEATURES = OverviewFeature.__table__
STATE = OverviewState.__table__


def overview_layers() -> list:
    return [layer for layer in ALL_LAYERS if has_overviews(layer)]


def band_pixel(band: int) -> float:
    """One pixel of a 256-pixel tile at zoom `band`, in EPSG:3857 metres."""
    return 2 * ORIGIN / TILE_SIZE / 2 ** band


def band_rows(layer, band: int) -> sa.Select:
    """The overview rows of `layer` at `band` (columns as OverviewFeature's)."""
    table = layer.table
    geom = table.c.geom_3857
    pixel = band_pixel(band)
    unit = pixel * TILE_SIZE / EXTENT
    simplified = func.ST_SnapToGrid(func.ST_Simplify(geom, pixel * SIMPLIFY_PX),
                                    -ORIGIN, -ORIGIN, unit, unit)
    props = func.jsonb_strip_nulls(func.jsonb_build_object(*[
        part for name in fields_at(layer, CAPPED)
        for part in (sa.literal(name), attribute_value(table.c[name]))]))
    rows = (sa.select(table.c[layer.id_column].label("id"), bbox_size(geom).label("size"),
                      props.label("props"), simplified.label("geom"))
            .where(bbox_size(geom) >= pixel * MIN_SIZE_PX)).subquery("s")
    return (sa.select(sa.literal(band, sa.SmallInteger).label("band"),
                      sa.literal(layer.id).label("layer"), rows.c.id, rows.c.size, rows.c.props,
                      rows.c.geom)
            .where(sa.not_(func.ST_IsEmpty(rows.c.geom))))


def refresh_layer(conn: sa.Connection, layer, force: bool = False) -> int | None:
    """Rebuild `layer`'s overviews in the caller's transaction when they are older than
    its data (always with `force`); returns the rows written, None when already current."""
    conn.execute(sa.select(func.pg_advisory_xact_lock(func.hashtext("overviews:" + layer.id))))
    version = table_versions(conn, [layer.table_name]).get(layer.table_name)
    built = conn.execute(sa.select(STATE.c.version).where(STATE.c.layer == layer.id)).scalar()
    if built == version and not force:
        return None
    started = time.perf_counter()
    conn.execute(sa.text("SET LOCAL max_parallel_workers_per_gather = 0"))
    conn.execute(sa.delete(FEATURES).where(FEATURES.c.layer == layer.id))
    columns = ["band", "layer", "id", "size", "props", "geom"]
    for band in BANDS:
        if layer.min_zoom <= band <= layer.max_zoom:
            conn.execute(FEATURES.insert().from_select(columns, band_rows(layer, band)))
    written = conn.execute(sa.select(func.count()).where(FEATURES.c.layer == layer.id)).scalar_one()
    seconds = round(time.perf_counter() - started, 3)
    stmt = pg_insert(STATE).values(layer=layer.id, version=version, features=written,
                                   seconds=seconds, refreshed_at=func.now())
    conn.execute(stmt.on_conflict_do_update(index_elements=["layer"], set_={
        c: stmt.excluded[c] for c in ("version", "features", "seconds", "refreshed_at")}))
    LOG.info("overviews of %s: %d rows at version %s in %.2f s", layer.id, written, version, seconds)
    return written


def refresh_overviews(engine: sa.Engine, layer_ids: Iterable[str] | None = None,
                      force: bool = False) -> dict[str, int | None]:
    """Bring the overviews of the layers (all with overviews when None) up to date, each
    in its own transaction; {layer id: rows written, or None when it was current}."""
    layers = overview_layers() if layer_ids is None else [
        layer for layer in (get_layer(i) for i in dict.fromkeys(layer_ids)) if has_overviews(layer)]
    out = {}
    for layer in layers:
        with engine.begin() as conn:
            out[layer.id] = refresh_layer(conn, layer, force)
    return out


def refresh_written_overviews(engine: sa.Engine, layer_ids: Iterable[str]) -> None:
    """After a committed write: refresh the written layers' overviews. A failure leaves
    them stale (tiles then simplify the live rows) and the write stands."""
    layer_ids = list(dict.fromkeys(layer_ids))
    try:
        refresh_overviews(engine, layer_ids)
    except sa.exc.SQLAlchemyError as exc:
        LOG.warning("overviews not refreshed after a write to %s: %s", ", ".join(layer_ids), exc)


def refresh_stale_overviews(settings) -> str:
    """Before serving: rebuild the overviews a write outside the write path left stale
    (a DBA's SQL, a restore); a one-line summary."""
    engine = make_engine(settings, timeout_ms=settings.import_statement_timeout_ms,
                         application_name="gisdb-overviews")
    try:
        done = {k: v for k, v in refresh_overviews(engine).items() if v is not None}
    finally:
        engine.dispose()
    return "overviews current" if not done else "overviews rebuilt: " + ", ".join(
        f"{layer} ({rows:,} rows)" for layer, rows in done.items())


_PENDING: dict[sa.Engine, set[str]] = {}
_LOCK = threading.Condition()
_WORKER: list[threading.Thread] = []


def refresh_soon(engine: sa.Engine, layer_ids: Iterable[str]) -> None:
    """`refresh_written_overviews` on a background thread of this process (the web's writes:
    a road's rebuild takes seconds at a million features, longer than the write). Layers
    written while a refresh runs are queued once; tiles simplify the live rows meanwhile."""
    ids = [i for i in dict.fromkeys(layer_ids) if has_overviews(get_layer(i))]
    if not ids:
        return
    with _LOCK:
        _PENDING.setdefault(engine, set()).update(ids)
        if not _WORKER:
            _WORKER.append(threading.Thread(target=_drain, name="gisdb-overviews", daemon=True))
            _WORKER[0].start()


def _drain() -> None:
    while True:
        with _LOCK:
            if not _PENDING:
                _WORKER.clear()
                _LOCK.notify_all()
                return
            engine, ids = _PENDING.popitem()
        refresh_written_overviews(engine, sorted(ids))


def settle(timeout: float = 60.0) -> bool:
    """Wait for this process's background refreshes (tests, shutdown); False on timeout."""
    with _LOCK:
        return _LOCK.wait_for(lambda: not _WORKER, timeout)


def overview_status(conn: sa.Connection) -> list[dict]:
    """Per layer with overviews: the version built, the layer's current one, rows, seconds."""
    versions = table_versions(conn)
    built = {row.layer: row for row in conn.execute(sa.select(STATE))}
    out = []
    for layer in overview_layers():
        row = built.get(layer.id)
        out.append({"layer": layer.id, "current": row is not None and
                    row.version == versions.get(layer.table_name),
                    "version": row.version if row else None,
                    "data_version": versions.get(layer.table_name),
                    "features": row.features if row else 0,
                    "seconds": row.seconds if row else None})
    return out
