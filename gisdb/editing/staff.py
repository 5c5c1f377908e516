"""`gisdb edit` for staff scripts: one feature's attributes (`--set col=value`, typed by
the importer's casts), geometry (a GeoJSON file or WKT) or deletion, through the same
validation, version check and audit as the API. The feature's row is locked and its
version read in the same transaction, so a concurrent API edit is never overwritten."""
from __future__ import annotations

import json
from pathlib import Path

import shapely
import sqlalchemy as sa
from shapely.geometry import mapping

from ..attribution import Writer
from ..crs import Crs
from ..errors import InvalidParameter, NotFound
from ..importing.target import ImportTarget
from .changes import parse_change
from .versions import row_version
from .write import Batch, Result, write_batches


def geometry_input(text: str) -> dict:
    """A GeoJSON geometry from a file (a geometry, a Feature, or a FeatureCollection of
    one) or from WKT."""
    path = Path(text)
    if path.is_file():
        try:
            doc = json.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError) as exc:
            raise InvalidParameter(f"cannot read {path}: {exc}") from None
        if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
            features = doc.get("features") or []
            if len(features) != 1:
                raise InvalidParameter(f"{path} holds {len(features)} features; give one")
            doc = features[0]
        if isinstance(doc, dict) and doc.get("type") == "Feature":
            doc = doc.get("geometry")
        return doc
    try:
        return mapping(shapely.from_wkt(text))
    except shapely.errors.ShapelyError:
        raise InvalidParameter("--geometry is neither a readable file nor WKT") from None


def parse_sets(items: tuple[str, ...]) -> dict[str, str | None]:
    """`col=value` pairs; an empty value is NULL."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidParameter(f"--set expects COLUMN=VALUE, got {item!r}")
        out[name.strip()] = value if value.strip() else None
    return out


def edit_one(engine: sa.Engine, target: ImportTarget, feature_id: int, writer: Writer, crs: Crs, *,
             properties: dict | None = None, geometry: dict | None = None, delete: bool = False) -> Result:
    """Update (or delete) one feature as `writer`, in one transaction."""
    table = target.table
    ident = list(table.primary_key.columns)[0]
    body = {"properties": properties or {}}
    if geometry is not None:
        body["geometry"] = geometry
    with engine.begin() as conn:
        version = conn.execute(sa.select(row_version(table)).where(ident == feature_id)
                               .with_for_update()).scalar()
        if version is None:
            raise NotFound(f"no feature with id {feature_id} in {target.layer_id}")
        op = "delete" if delete else "update"
        change = parse_change(op, None if delete else body, columns=target.column_names, crs=crs,
                              feature_id=feature_id, expected=version)
        return write_batches(conn, writer, [Batch(target, op, [change], crs.srid)])[0]
