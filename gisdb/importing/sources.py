"""Reading the formats staff receive, in Arrow batches so memory stays flat.

Shapefile (`.shp` with its parts, or inside a `.zip`), GeoJSON, GeoPackage (one table,
chosen with `--table` when there are several), FlatGeobuf and CSV. Geometries leave here
as WKB in EPSG:4326: the source CRS is transformed with pyproj, in bulk per batch. CSV
geometries come from a WKT column, longitude/latitude columns, one "lat,lng" column or
the columns staff name (`csv_geometry`); they are built with vectorised Arrow and shapely
calls. Date-times are read as ISO text
with their UTC offset (`datetime_as_string`): Arrow's timestamps would drop the offset a
FlatGeobuf carries, and the value would then move by the import's time zone.

GDAL never picks the driver: the one for the file's extension is named, with GDAL's own
prefix where the driver has one (`GeoJSON:`, `CSV:`), and `gdal_guard` leaves only the
allowed drivers registered (a Shapefile, GeoPackage or FlatGeobuf is then recognised by
the magic bytes `safety` checked), with GDAL's network off."""
from __future__ import annotations

import struct
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio
import shapely
from pyogrio.raw import open_arrow

from ..errors import ImportFailed, InvalidParameter, UnsafeInput
from . import csv_geometry
from . import encoding as enc
from .csv_geometry import CsvGeometry
from .gdal_guard import guard_gdal
from .safety import extract_checked_zip, safe_open_path

DRIVERS = {".shp": "ESRI Shapefile", ".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG",
           ".fgb": "FlatGeobuf", ".csv": "CSV"}
DATASET_SUFFIXES = tuple(DRIVERS)
GDAL_PREFIXES = {"GeoJSON": "GeoJSON:", "CSV": "CSV:"}    # GDAL's syntax naming the driver
@dataclass
class Source:
    """An opened, checked dataset: where it is, what GDAL reads it as, its fields."""

    path: Path                       # the dataset GDAL opens (inside the extraction dir for zips)
    original: Path                   # what the user passed
    driver: str
    layer: str | None
    field_names: list[str]
    field_types: list[pa.DataType]
    crs_text: str | None
    feature_count: int | None
    encoding: enc.EncodingChoice
    csv_geometry: CsvGeometry | None = None
    warnings: list[str] = field(default_factory=list)
    plans: list = field(default_factory=list)     # mapping.ColumnPlan per target column

    @property
    def gdal_path(self) -> str:
        """What GDAL is handed: the path, naming its driver where GDAL can be told."""
        return named_path(self.path, self.driver)

    def open_kwargs(self) -> dict:
        kwargs = {}
        if self.layer is not None:
            kwargs["layer"] = self.layer
        if self.driver == "ESRI Shapefile" and self.encoding.gdal:
            kwargs["ENCODING"] = self.encoding.gdal
        return kwargs


@dataclass
class Chunk:
    """One batch: WKB in EPSG:4326 (None where missing/unreadable), per-row flags
    (0 fine, 1 unreadable, 2 ring closed on read), and the field values."""

    start: int
    wkb: list
    flags: list
    values: list[list]
    sample: np.ndarray               # up to 200 source-CRS points for the CRS check

    def __len__(self) -> int:
        return len(self.wkb)


def _find_dataset(folder: Path, table: str | None) -> tuple[Path, str | None]:
    found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in DATASET_SUFFIXES
                   and not p.name.startswith(("._", ".")) and "__MACOSX" not in p.parts)
    if table:
        named = [p for p in found if p.stem == table]
        if len(named) == 1:
            return named[0], None
        gpkgs = [p for p in found if p.suffix.lower() == ".gpkg"]
        if len(gpkgs) == 1:
            return gpkgs[0], table
        raise InvalidParameter(f"the archive has no dataset named {table!r} "
                               f"(found: {', '.join(p.name for p in found) or 'none'})")
    if len(found) != 1:
        raise InvalidParameter("the archive holds " + (f"{len(found)} datasets ("
                               + ", ".join(p.name for p in found) + "): choose one with --table"
                               if found else "no dataset of an accepted format"))
    return found[0], None


def named_path(path: Path, driver: str) -> str:
    """The dataset as GDAL is handed it: prefixed with its driver where GDAL has a prefix."""
    return GDAL_PREFIXES.get(driver, "") + str(path)


@contextmanager
def open_source(checked: Path, settings, *, original: Path | None = None, table: str | None = None,
                encoding: str | None = None, geometry_columns: tuple[str, ...] = ()) -> Iterator[Source]:
    """Open a file `safe_open_path` passed, with GDAL guarded first (`guard_gdal`). A zip
    is extracted safely into a temporary folder removed afterwards, and the dataset found
    in it is checked in turn. `original` is the path the user gave. Yields a `Source`."""
    guard_gdal()
    with tempfile.TemporaryDirectory(prefix="gisdb-import-") as tmp:
        dataset, layer = checked, table
        if checked.suffix.lower() == ".zip":
            extract_checked_zip(checked, Path(tmp) / "zip", settings)
            found, layer = _find_dataset(Path(tmp) / "zip", table)
            dataset = safe_open_path(found, settings)
        source = _describe(dataset, Path(original or checked), layer, encoding, Path(tmp))
        if source.driver == "CSV":
            source.csv_geometry = _csv_spec(source, tuple(geometry_columns))
        elif geometry_columns:
            raise InvalidParameter("--geometry-columns applies to CSV files only")
        yield source


def check_shapefile(shp: Path, label: str) -> None:
    """GDAL reads a damaged Shapefile quietly, with missing geometries; we refuse it
    instead, by checking that the .shp, .shx and .dbf agree on sizes and counts."""
    size = shp.stat().st_size
    with shp.open("rb") as fh:
        header = fh.read(100)
    if len(header) < 100 or struct.unpack(">i", header[:4])[0] != 9994:
        raise ImportFailed(f"{label}: the .shp header is damaged")
    declared = struct.unpack(">i", header[24:28])[0] * 2
    if declared != size:
        raise ImportFailed(f"{label}: the .shp is damaged or truncated (its header says {declared} bytes, "
                           f"the file has {size})")
    shx = next((p for p in (shp.with_suffix(".shx"), shp.with_suffix(".SHX")) if p.exists()), None)
    dbf = next((p for p in (shp.with_suffix(".dbf"), shp.with_suffix(".DBF")) if p.exists()), None)
    if shx is None or dbf is None:
        raise ImportFailed(f"{label}: a Shapefile needs its .shx and .dbf beside the .shp")
    index = shx.read_bytes()[100:]
    records = len(index) // 8
    for i in range(records):
        offset, length = struct.unpack(">ii", index[8 * i:8 * i + 8])
        if offset * 2 + 8 + length * 2 > size or offset * 2 < 100:
            raise ImportFailed(f"{label}: record {i + 1} lies outside the .shp (damaged file)")
    with dbf.open("rb") as fh:
        head = fh.read(12)
    count, header_len, record_len = struct.unpack("<IHH", head[4:12])
    if count != records or dbf.stat().st_size < header_len + count * record_len:
        raise ImportFailed(f"{label}: the .dbf ({count} records) does not match the .shp ({records})")


def _describe(dataset: Path, original: Path, layer: str | None, requested_encoding: str | None,
              tmp: Path) -> Source:
    suffix = dataset.suffix.lower()
    if suffix == ".shp":
        check_shapefile(dataset, original.name)
    driver = DRIVERS[suffix]
    choice = enc.EncodingChoice("utf-8", gdal=None)
    if suffix == ".shp":
        choice = enc.detect_dbf(dataset, requested_encoding)
    elif suffix == ".csv":
        choice = enc.detect_text_file(dataset, requested_encoding)
        if choice.codec:
            dataset = enc.transcode_to_utf8(dataset, tmp / "transcoded.csv", choice.codec)
            choice = enc.EncodingChoice(choice.name, gdal=None, codec=None, warnings=choice.warnings)
    if suffix == ".gpkg":
        layers = _gpkg_tables(dataset, original)
        if layer is None and len(layers) > 1:
            raise InvalidParameter(f"{original.name} has {len(layers)} tables ({', '.join(layers)}): choose one with --table")
        if layer is not None and layer not in layers:
            raise InvalidParameter(f"{original.name} has no table {layer!r} (tables: {', '.join(layers)})")
    elif layer is not None and suffix != ".gpkg" and original.suffix.lower() != ".zip":
        raise InvalidParameter("--table applies to GeoPackages and zip archives only")
    else:
        layer = None
    kwargs = {"layer": layer} if layer else {}
    if driver == "ESRI Shapefile" and choice.gdal:
        kwargs["ENCODING"] = choice.gdal
    try:
        info = pyogrio.read_info(named_path(dataset, driver), **kwargs)
        with open_arrow(named_path(dataset, driver), use_pyarrow=True, batch_size=1, datetime_as_string=True,
                        **kwargs) as (_, reader):
            schema = reader.schema
    except Exception as exc:  # GDAL's errors are many types; the message is what matters
        raise ImportFailed(f"{original.name} cannot be read as {driver}: {exc}") from None
    if info.get("driver") != driver:
        raise UnsafeInput(f"{original.name} was opened by GDAL's {info.get('driver')} driver, not {driver}: refused")
    names = [str(n) for n in info["fields"]]
    types = [schema.field(n).type if n in schema.names else pa.string() for n in names]
    source = Source(path=dataset, original=original, driver=driver, layer=layer, field_names=names,
                    field_types=types, crs_text=info.get("crs"), feature_count=info.get("features"),
                    encoding=choice, warnings=list(choice.warnings))
    if suffix == ".shp":
        prj = dataset.with_suffix(".prj")
        if prj.exists():
            source.crs_text = prj.read_text(encoding="utf-8", errors="replace").strip() or info.get("crs")
    return source


def _gpkg_tables(dataset: Path, original: Path) -> list[str]:
    """The GeoPackage's tables; a damaged file is an ImportFailed, not a driver error."""
    try:
        return [str(name) for name, _ in pyogrio.list_layers(dataset)]
    except Exception as exc:  # a damaged SQLite file surfaces as several GDAL error types
        raise ImportFailed(f"{original.name} cannot be read as GPKG: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _csv_spec(source: Source, requested: tuple[str, ...]) -> CsvGeometry:
    """The CSV's geometry columns: by their usual names, or those staff named, read from
    the first rows to tell pairs, numbers and WKT apart."""
    if not requested:
        return csv_geometry.by_name(source.field_names)
    columns = csv_geometry.named_columns(requested, source.field_names)
    try:
        with open_arrow(source.gdal_path, use_pyarrow=True, batch_size=200, columns=list(columns),
                        read_geometry=False) as (_, reader):
            first = next(iter(reader), None)
    except Exception as exc:  # GDAL's errors are many types; the message is what matters
        raise ImportFailed(f"{source.original.name} cannot be read as CSV: {exc}") from None
    samples = {c: (first.column(c).to_pylist() if first is not None else []) for c in columns}
    return csv_geometry.by_content(columns, samples)


def _sample(geoms: np.ndarray) -> np.ndarray:
    present = geoms[~shapely.is_missing(geoms)][:200]
    if len(present) == 0:
        return np.empty((0, 2))
    return shapely.get_coordinates(shapely.centroid(present))


def _wkb_column(batch: pa.RecordBatch, geometry_index: int | None):
    if geometry_index is None:
        return [None] * batch.num_rows
    return batch.column(geometry_index).to_pylist()


def read_chunks(source: Source, transformer, chunk_size: int = 50_000) -> Iterator[Chunk]:
    """Stream the dataset in batches of WKB (EPSG:4326) plus field values."""
    start = 0
    try:
        with open_arrow(source.gdal_path, use_pyarrow=True, batch_size=chunk_size, datetime_as_string=True,
                        **source.open_kwargs()) as (meta, reader):
            geometry_name = meta.get("geometry_name") or "wkb_geometry"
            names = reader.schema.names
            gidx = names.index(geometry_name) if geometry_name in names else None
            if gidx is None and "geometry" in names:
                gidx = names.index("geometry")
            for batch in reader:
                yield _chunk(batch, start, gidx, source, transformer)
                start += batch.num_rows
    except (ImportFailed, InvalidParameter):
        raise
    except Exception as exc:  # GDAL reading errors surface as many types
        raise ImportFailed(f"{source.original.name}: reading stopped at feature {start + 1}: {exc}") from None


UNREADABLE, RING_CLOSED, ZM_DROPPED, INVALID = 1, 2, 4, 8    # per-row flag bits, read by validation


def _chunk(batch: pa.RecordBatch, start: int, gidx: int | None, source: Source, transformer) -> Chunk:
    n = batch.num_rows
    flags = np.zeros(n, dtype=np.int16)
    if source.csv_geometry is not None:
        geoms = csv_geometry.geometries(batch, source.csv_geometry)
        raw = np.full(n, None, dtype=object)
        flags[shapely.is_missing(geoms)] = UNREADABLE
        rewrite = np.ones(n, dtype=bool)
    else:
        raw = np.array(_wkb_column(batch, gidx), dtype=object)
        geoms = shapely.from_wkb(raw, on_invalid="ignore")
        bad = shapely.is_missing(geoms) & np.array([w is not None for w in raw], dtype=bool)
        if bad.any():
            fixed = shapely.from_wkb(raw[bad], on_invalid="fix")
            flags[np.flatnonzero(bad)] = np.where(shapely.is_missing(fixed), UNREADABLE, RING_CLOSED)
            geoms[bad] = fixed
        rewrite = (flags & RING_CLOSED) > 0
    present = ~shapely.is_missing(geoms)
    zm = np.zeros(n, dtype=bool)
    zm[present] = shapely.has_z(geoms[present]) | shapely.has_m(geoms[present])
    if zm.any():                                  # the layers are 2D: drop Z/M here, count it
        geoms[zm] = shapely.force_2d(geoms[zm])
        flags[zm] |= ZM_DROPPED
        rewrite |= zm
    sample = _sample(geoms)
    if transformer is not None:
        from .crs import transform_geometries
        geoms = transform_geometries(geoms, transformer)
        rewrite = present | rewrite
    # Validity is tested here, on the reader's core, while the database is busy with the
    # previous batch; the database's own CHECK constraint remains the final judge.
    invalid = np.zeros(n, dtype=bool)
    invalid[present] = ~shapely.is_valid(geoms[present])
    flags[invalid] |= INVALID
    wkb = list(raw)
    if rewrite.any():
        encoded = shapely.to_wkb(geoms[rewrite], flavor="iso")
        for i, value in zip(np.flatnonzero(rewrite), encoded):
            wkb[i] = value
    for i in np.flatnonzero((flags & UNREADABLE) > 0):
        wkb[i] = None
    values = []
    for i, name in enumerate(source.field_names):
        column = batch.column(name) if name in batch.schema.names else pa.nulls(n)
        if source.encoding.codec and pa.types.is_string(column.type):
            data = enc.redecode(column.to_pylist(), source.encoding.codec)
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            data = pc.utf8_normalize(column, "NFC").to_pylist()     # one spelling of "ườ"
        else:
            data = column.to_pylist()
        values.append(data)
    return Chunk(start=start, wkb=wkb, flags=flags.tolist(), values=values, sample=sample)
