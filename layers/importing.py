"""The layer-aware side of imports: which table a layer id loads into, its natural key
and required columns, read from the registry, handed to the generic engine in
`gisdb.importing`; and the names the layer's own Shapefile export shortens, so that export
and import agree without a mapping."""
from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa

from gisdb.errors import Forbidden
from gisdb.field_names import long_names
from gisdb.importing import ImportOptions, ImportReport, ImportTarget, run_import, target_from_table
from gisdb.importing.progress import Progress
from gisdb.settings import Settings

from .exporting import layer_columns
from .planning.violations import refresh_after_import
from .registry import get_layer


@functools.lru_cache(maxsize=None)
def import_target(layer_id: str) -> ImportTarget:
    """The import description of a layer (NotFound for an unknown id), made once per
    layer: a 1,000-feature edit transaction asks for it per feature."""
    layer = get_layer(layer_id)
    if layer.extra.get("read_only"):
        raise Forbidden(f"layer {layer_id!r} is derived from other layers and cannot be written")
    target = target_from_table(layer.table, layer.id, layer.natural_key)
    exported = [c.key for c in layer_columns(layer)]
    return replace(target, short_names=long_names(exported))


def import_layer(engine: sa.Engine, settings: Settings, layer_id: str, path: str | Path,
                 options: ImportOptions, progress: Progress | None = None) -> ImportReport:
    """Import a file into a layer of the registry; the violations of the rules reading
    the layer are refreshed after a committed import that changed rows, over the area
    it changed."""
    report = run_import(engine, settings, import_target(layer_id), path, options, progress)
    written = sum(report.changes.get(k, 0) for k in ("inserted", "updated", "deleted"))
    if not report.dry_run and written:
        refresh_after_import(engine, layer_id, report.changes.get("inserted", 0), report.written_extent)
    return report
