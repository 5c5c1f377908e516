"""Export a table (or any filtered selection of it) to a GIS file: GeoPackage, GeoJSON,
Shapefile (plain or zipped), FlatGeobuf or CSV with WKT geometry.

Generic on purpose: the caller describes what to read with an `ExportSource` (a table,
its attribute columns, its geometry column and SQLAlchemy filter expressions); the
layer registry builds those in `layers.exporting`. PostGIS does the work that must be
exact (the bbox test and `ST_Transform` to the SRID staff name, so the EPSG-defined datum
shift is used); Python only moves WKB and columns. Rows stream from a server-side
cursor in chunks into `pyogrio.write_arrow` as Arrow record batches, so memory stays
flat whatever the size. The file is written in a temporary directory next to the
output and renamed into place, so a failed export leaves no half-written file.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pyarrow as pa
import sqlalchemy as sa
from pyproj import CRS
from pyproj.exceptions import CRSError

from .bbox import Box, box_condition, parse_bbox  # noqa: F401  (the export command parses --bbox with it)
from .engine import db_errors
from .errors import ExportFailed, InvalidParameter
from .field_names import SHAPEFILE_FIELD_LIMIT, short_field_names
from .model import STORAGE_SRID
from .srids import ensure_epsg_srid

Progress = Callable[[int, int], None]       # (rows written so far, total rows)
SHAPEFILE_PARTS = (".shx", ".dbf", ".prj", ".cpg", ".shp")   # .shp last: it is what readers open


@dataclass(frozen=True)
class OutputFormat:
    key: str
    driver: str
    layer_options: dict = field(default_factory=dict)
    zipped: bool = False
    field_name_limit: int | None = None


FORMATS = {
    ".gpkg": OutputFormat("gpkg", "GPKG"),
    ".geojson": OutputFormat("geojson", "GeoJSON"),
    ".json": OutputFormat("geojson", "GeoJSON"),
    ".shp": OutputFormat("shapefile", "ESRI Shapefile", field_name_limit=SHAPEFILE_FIELD_LIMIT),
    ".zip": OutputFormat("shapefile-zip", "ESRI Shapefile", zipped=True,
                         field_name_limit=SHAPEFILE_FIELD_LIMIT),
    ".fgb": OutputFormat("flatgeobuf", "FlatGeobuf", {"SPATIAL_INDEX": "YES"}),
    ".csv": OutputFormat("csv", "CSV", {"GEOMETRY": "AS_WKT", "CREATE_CSVT": "NO"}),
}


@dataclass(frozen=True)
class ExportSource:
    """What to export: `columns` are labelled attribute expressions of `table`,
    `geometry` its geometry column (stored in `storage_srid`), `where` filters."""

    name: str
    table: sa.FromClause
    columns: tuple[sa.ColumnElement, ...]
    geometry: sa.ColumnElement
    geometry_type: str = "Unknown"
    storage_srid: int = STORAGE_SRID
    where: tuple[sa.ColumnElement, ...] = ()
    order_by: tuple[sa.ColumnElement, ...] = ()
    id_name: str | None = None        # attribute that GeoJSON writes as the feature id


@dataclass(frozen=True)
class ExportOptions:
    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: str = "EPSG:4326"
    srs: str | None = None            # output CRS; an EPSG code, e.g. "EPSG:5899"
    chunk_size: int = 5000
    overwrite: bool = False


@dataclass
class ExportResult:
    path: Path
    format: str
    features: int
    srid: int
    renamed_fields: dict[str, str]
    seconds: float


# --- parsing what users type -------------------------------------------------------------------

def format_for(path: str | os.PathLike) -> OutputFormat:
    """The output format named by the file's extension."""
    suffix = Path(path).suffix.lower()
    try:
        return FORMATS[suffix]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise InvalidParameter(f"cannot tell the format of {Path(path).name!r}: "
                               f"use one of the extensions {known}") from None


def epsg_code(user_crs: str) -> int:
    """The EPSG code of a CRS as staff name it ('EPSG:5899', '5899', a WKT with an EPSG id).
    A CRS without an EPSG identity is refused: only an EPSG code carries the datum shift."""
    text = str(user_crs).strip()
    if text.isdigit():
        text = f"EPSG:{text}"
    try:
        crs = CRS.from_user_input(text)
    except CRSError:
        raise InvalidParameter(f"unknown coordinate reference system {user_crs!r}") from None
    code = crs.to_epsg(min_confidence=100)
    if code is None:
        raise InvalidParameter(f"{user_crs!r} has no exact EPSG code: name the EPSG code "
                               "(e.g. EPSG:5899 for VN-2000 / TM-3 107-45)")
    return code


# --- query -----------------------------------------------------------------------------------

def _bbox_filter(source: ExportSource, bbox, bbox_srid: int) -> sa.ColumnElement:
    """The bbox test (gisdb.bbox: clipped to the CRS's area of use, transformed once)."""
    return box_condition(source.geometry, Box(*bbox), bbox_srid)


def _exportable(column: sa.ColumnElement) -> tuple[sa.ColumnElement, pa.DataType]:
    """The column as read for export, and its Arrow type (decimals as doubles, JSON as text)."""
    sa_type = column.type
    name = column.key
    if isinstance(sa_type, sa.Boolean):
        return column, pa.bool_()
    if isinstance(sa_type, sa.SmallInteger):
        return column, pa.int16()
    if isinstance(sa_type, sa.BigInteger):
        return column, pa.int64()
    if isinstance(sa_type, sa.Integer):
        return column, pa.int32()
    if isinstance(sa_type, (sa.Numeric, sa.Float)):
        return sa.cast(column, sa.Float(precision=53)).label(name), pa.float64()
    if isinstance(sa_type, sa.DateTime):
        unit_tz = "UTC" if getattr(sa_type, "timezone", False) else None
        return column, pa.timestamp("ms", tz=unit_tz)
    if isinstance(sa_type, sa.Date):
        return column, pa.date32()
    if isinstance(sa_type, sa.String):
        return column, pa.string()
    return sa.cast(column, sa.Text).label(name), pa.string()


def build_query(source: ExportSource, options: ExportOptions, srid: int, bbox_srid: int):
    """(SELECT of attributes + WKB geometry, COUNT of the same rows, Arrow schema)."""
    where = list(source.where)
    if options.bbox is not None:
        where.append(_bbox_filter(source, options.bbox, bbox_srid))
    geom = source.geometry
    if srid != source.storage_srid:
        geom = sa.func.ST_Transform(geom, srid)
    selected, arrow_fields = [], []
    for column in source.columns:
        expr, arrow_type = _exportable(column)
        selected.append(expr)
        arrow_fields.append(pa.field(column.key, arrow_type))
    selected.append(sa.func.ST_AsBinary(geom).label("geometry"))
    arrow_fields.append(pa.field("geometry", pa.binary()))
    query = sa.select(*selected).select_from(source.table).where(*where).order_by(*source.order_by)
    count = sa.select(sa.func.count()).select_from(source.table).where(*where)
    return query, count, pa.schema(arrow_fields)


# --- writing -------------------------------------------------------------------------------

def _batches(result, schema: pa.Schema, chunk: int, total: int,
             progress: Progress | None, state: dict) -> Iterator[pa.RecordBatch]:
    """Arrow batches from a streaming result; remembers an error so the caller can
    re-raise it as it was (Arrow would wrap it)."""
    done = 0
    try:
        for rows in result.partitions(chunk):
            columns = list(zip(*rows))
            arrays = [pa.array(col, type=f.type) for col, f in zip(columns, schema)]
            done += len(rows)
            state["written"] = done
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)
            if progress:
                progress(done, total)
    except BaseException as exc:
        state["error"] = exc
        raise


def _write(fmt: OutputFormat, source: ExportSource, reader, target: Path, srid: int,
           renamed: dict[str, str]) -> None:
    import pyogrio  # imports pandas on the way (~1 s): only exports pay for it
    layer_options = dict(fmt.layer_options)
    crs = CRS.from_epsg(srid)
    if fmt.driver == "GeoJSON":
        if source.id_name:
            layer_options["ID_FIELD"] = renamed.get(source.id_name, source.id_name)
        # about a tenth of a millimetre, instead of 15 meaningless digits: a re-import then
        # stays well inside the import's 1 mm tolerance (a millimetre of rounding did not)
        layer_options["COORDINATE_PRECISION"] = "9" if crs.is_geographic else "4"
    pyogrio.write_arrow(
        reader, str(target), layer=source.name, driver=fmt.driver, geometry_name="geometry",
        geometry_type=source.geometry_type, crs=crs.to_wkt(),
        encoding="UTF-8" if fmt.driver == "ESRI Shapefile" else None,
        layer_options=layer_options or None)


def _publish(fmt: OutputFormat, workdir: Path, written: Path, out: Path) -> None:
    """Move the finished file(s) from the work directory to their final place."""
    if fmt.zipped:
        archive = workdir / out.name
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for part in sorted(workdir.glob(f"{written.stem}.*")):
                if part != archive:
                    zf.write(part, arcname=part.name)
        os.replace(archive, out)
    elif fmt.driver == "ESRI Shapefile":
        for ext in SHAPEFILE_PARTS:
            part = written.with_suffix(ext)
            if part.exists():
                os.replace(part, out.with_suffix(ext))
    else:
        os.replace(written, out)


def export(engine: sa.Engine, source: ExportSource, out_path: str | os.PathLike,
           options: ExportOptions = ExportOptions(), progress: Progress | None = None
           ) -> ExportResult:
    """Write `source` to `out_path` (format from the extension); returns what was written."""
    started = time.monotonic()
    out = Path(out_path).absolute()
    fmt = format_for(out)
    if not out.parent.is_dir():
        raise InvalidParameter(f"directory {out.parent} does not exist")
    if out.exists() and not options.overwrite:
        raise InvalidParameter(f"{out.name} already exists (use --overwrite to replace it)")
    srid = epsg_code(options.srs) if options.srs else source.storage_srid
    chunk = max(1, int(options.chunk_size))
    names = [c.key for c in source.columns]
    renamed = short_field_names(names, fmt.field_name_limit) if fmt.field_name_limit else {}
    bbox_srid = epsg_code(options.bbox_crs) if options.bbox is not None else srid
    query, count_query, schema = build_query(source, options, srid, bbox_srid)
    if renamed:
        schema = pa.schema([f.with_name(renamed.get(f.name, f.name)) for f in schema])
    for code in {srid, bbox_srid}:
        ensure_epsg_srid(engine, code)
    workdir = Path(tempfile.mkdtemp(prefix=".export-", dir=out.parent))
    state: dict = {"written": 0}
    try:
        stem = out.stem if out.suffix.lower() != ".zip" else out.stem.removesuffix(".shp")
        written = workdir / (f"{stem}.shp" if fmt.zipped else f"{stem}{out.suffix}")
        with db_errors(), engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            total = conn.execute(count_query).scalar_one()
            if progress:
                progress(0, total)
            result = conn.execution_options(yield_per=chunk).execute(query)
            reader = pa.RecordBatchReader.from_batches(
                schema, _batches(result, schema, chunk, total, progress, state))
            try:
                _write(fmt, source, reader, written, srid, renamed)
            except Exception as exc:
                raise state.get("error") or _write_error(exc, out) from exc
        _publish(fmt, workdir, written, out)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return ExportResult(path=out, format=fmt.key, features=state["written"], srid=srid,
                        renamed_fields={k: v for k, v in renamed.items() if k != v},
                        seconds=time.monotonic() - started)


def _write_error(exc: Exception, out: Path) -> ExportFailed:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    return ExportFailed(f"writing {out.name} failed: {first}")
