"""The raster catalog: GeoTIFFs registered with `gisdb raster add`.

Each raster is converted once into a Cloud-Optimised GeoTIFF under `settings.raster_dir`
(internal tiles + overviews, so tile rendering reads only the blocks it needs) and
described by one row of `meta.rasters`: CRS, footprint in EPSG:4326, size, bands,
dtype, nodata, per-band statistics and the SHA-256 of the source file.

The source is opened with the GTiff driver only, from a local path `check_source`
passed, in a process whose GDAL has no network (`gisdb.importing.gdal_guard`, set up by
`add_raster` and `write_cog` before anything is opened).

Adding is atomic: the COG is written to a temporary file in the same directory, checked,
and renamed over the final name inside the transaction that upserts the row, so readers
see either the old raster or the new one, never half a file. Adding the same file again
changes nothing.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
import sqlalchemy as sa
from geoalchemy2.shape import from_shape
from rasterio._err import CPLE_BaseError  # GDAL errors raised while reading blocks
from rasterio.errors import RasterioError
from rasterio.warp import transform_bounds
from shapely.geometry import box
from sqlalchemy.dialects.postgresql import insert as pg_insert

from .engine import db_errors
from .errors import ImportFailed, InvalidParameter, NotFound, UnsafeInput
from .meta_tables import RasterEntry
from .model import STORAGE_SRID
from .settings import Settings

KINDS = ("elevation", "image", "generic")
SUFFIXES = (".tif", ".tiff")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
MAX_PIXELS = 1_000_000_000            # width * height * bands: refuses "raster bombs"
STATS_MAX_PIXELS = 16_000_000         # beyond this, statistics come from a decimated read
GDAL_SAFE_ENV = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",   # never look at sibling files
    "GDAL_PAM_ENABLED": "NO",                      # no .aux.xml read or written
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".none",   # no network reads, whatever the path
    "CPL_VSIL_CURL_ALLOWED_FILENAME": "/vsicurl/http://gdal-network-disabled.invalid/",
    "GDAL_HTTP_MAX_RETRY": "0",
}
_table = RasterEntry.__table__


# --- checks -------------------------------------------------------------------------------

def check_name(name: str) -> str:
    """A raster name is a lowercase slug: it names a file and a URL segment."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InvalidParameter(
            f"invalid raster name {name!r}: use 1-63 lowercase letters, digits, '_' or '-'")
    return name


def check_source(src_path: str | os.PathLike, settings: Settings | None = None) -> Path:
    """Refuse anything but a local, regular .tif/.tiff file that starts like a TIFF and is
    within the import size limit: no network or GDAL virtual paths (/vsicurl/, http://),
    no VRT, no symlinks (the checks shared with `gisdb import`)."""
    from .importing.safety import safe_open_path  # the importing package loads pandas
    return safe_open_path(src_path, settings, extensions=SUFFIXES)


def guard_gdal() -> None:
    """GDAL's network off in this process, before any raster is opened."""
    from .importing.gdal_guard import guard_gdal as guard  # the importing package loads pandas
    guard()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- describing a raster ---------------------------------------------------------------------

def guess_kind(band_count: int, dtype: str) -> str:
    """'elevation' for single-band numeric grids (DEMs), 'image' for RGB(A) bytes."""
    if band_count == 1 and dtype in ("int16", "int32", "uint16", "float32", "float64"):
        return "elevation"
    if band_count in (3, 4) and dtype == "uint8":
        return "image"
    return "generic"


def crs_text(crs) -> str:
    """'EPSG:nnnn' when the CRS is an EPSG one, else its WKT."""
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


def band_stats(ds) -> dict:
    """Per band min/max/mean/std over valid pixels (nodata and NaN excluded); from a
    decimated read (GDAL picks an overview) when the raster is large."""
    approximate = ds.width * ds.height > STATS_MAX_PIXELS
    out_shape = None
    if approximate:
        scale = (STATS_MAX_PIXELS / (ds.width * ds.height)) ** 0.5
        out_shape = (max(1, int(ds.height * scale)), max(1, int(ds.width * scale)))
    bands = []
    for index in range(1, ds.count + 1):
        data = ds.read(index, masked=True, out_shape=out_shape)
        if data.dtype.kind == "f":
            data = np.ma.masked_invalid(data)
        valid = data.count()
        if valid == 0:
            bands.append({"band": index, "valid_pixels": 0,
                          "min": None, "max": None, "mean": None, "std": None})
            continue
        bands.append({"band": index, "valid_pixels": int(valid),
                      "min": float(data.min()), "max": float(data.max()),
                      "mean": round(float(data.mean()), 6), "std": round(float(data.std()), 6)})
    return {"approximate": approximate, "bands": bands}


def describe(ds) -> dict:
    """Catalog facts of an open dataset."""
    if ds.crs is None:
        raise ImportFailed("the raster has no coordinate reference system: not a GeoTIFF")
    if ds.transform.is_identity:
        raise ImportFailed("the raster has no georeferencing (identity transform)")
    west, south, east, north = transform_bounds(ds.crs, f"EPSG:{STORAGE_SRID}", *ds.bounds,
                                                densify_pts=21)
    if not (-180.0 <= west < east <= 180.0 and -90.0 <= south < north <= 90.0):
        raise ImportFailed(f"the raster's bounds ({west}, {south}, {east}, {north}) are not "
                           "on the Earth: check its CRS")
    dtype = ds.dtypes[0]
    nodata = ds.nodata
    return {"crs": crs_text(ds.crs), "width": ds.width, "height": ds.height,
            "band_count": ds.count, "dtype": dtype,
            "nodata": None if nodata is None else float(nodata),
            "bbox": [west, south, east, north]}


# --- conversion -----------------------------------------------------------------------------

def _open_geotiff(path: Path):
    """Open with the GTiff driver only, so no other GDAL format can be smuggled in."""
    try:
        return rasterio.open(path, driver="GTiff")
    except (RasterioError, CPLE_BaseError) as exc:
        raise ImportFailed(f"{path.name}: not a readable GeoTIFF ({_first_line(exc)})") from exc


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def write_cog(src: Path, dst_dir: Path, *, kind: str) -> tuple[Path, dict, dict]:
    """Convert `src` into a COG in a temporary file of `dst_dir`; returns the temp path,
    its facts and its statistics. The caller renames it into place."""
    guard_gdal()
    dst_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".incoming-", suffix=".tif", dir=dst_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with rasterio.Env(**GDAL_SAFE_ENV):
            with _open_geotiff(src) as ds:
                facts = describe(ds)
                if ds.width * ds.height * ds.count > MAX_PIXELS:
                    raise UnsafeInput(f"{src.name}: {ds.width}x{ds.height}x{ds.count} pixels "
                                      f"is over the limit of {MAX_PIXELS}")
                resampling = "AVERAGE" if kind == "image" else "BILINEAR"
                rasterio.shutil.copy(
                    ds, tmp, driver="COG", COMPRESS="DEFLATE", PREDICTOR="YES",
                    BLOCKSIZE=512, OVERVIEWS="AUTO", OVERVIEW_RESAMPLING=resampling,
                    BIGTIFF="IF_SAFER", NUM_THREADS="2")
            with rasterio.open(tmp, driver="GTiff") as out:
                stats = band_stats(out)
                if (out.width, out.height, out.count) != (facts["width"], facts["height"],
                                                         facts["band_count"]):
                    raise ImportFailed(f"{src.name}: the converted raster does not match its source")
        return tmp, facts, stats
    except (RasterioError, CPLE_BaseError) as exc:
        tmp.unlink(missing_ok=True)
        raise ImportFailed(f"{src.name}: cannot be converted ({_first_line(exc)})") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --- catalog --------------------------------------------------------------------------------

def _columns():
    t = _table.c
    return [t.name, t.title, t.path, t.crs, t.width, t.height, t.band_count, t.dtype, t.nodata,
            t.stats, t.kind, t.file_sha256, t.added_at,
            sa.func.ST_XMin(t.bounds).label("west"), sa.func.ST_YMin(t.bounds).label("south"),
            sa.func.ST_XMax(t.bounds).label("east"), sa.func.ST_YMax(t.bounds).label("north")]


def _as_dict(row) -> dict:
    entry = dict(row._mapping)
    entry["bbox"] = [entry.pop("west"), entry.pop("south"), entry.pop("east"), entry.pop("north")]
    return entry


def list_rasters(conn: sa.Connection) -> list[dict]:
    """Every registered raster, by name."""
    with db_errors():
        rows = conn.execute(sa.select(*_columns()).order_by(_table.c.name)).all()
    return [_as_dict(r) for r in rows]


def get_raster(conn: sa.Connection, name: str) -> dict:
    """One raster's catalog entry; NotFound when there is none."""
    with db_errors():
        row = conn.execute(sa.select(*_columns()).where(_table.c.name == name)).first()
    if row is None:
        raise NotFound(f"no raster named {name!r}")
    return _as_dict(row)


def raster_path(settings: Settings, entry: dict) -> Path:
    """Absolute path of a catalog entry's COG (entries store it relative to raster_dir)."""
    path = (settings.raster_dir / entry["path"]).resolve()
    if settings.raster_dir.resolve() not in path.parents:
        raise UnsafeInput(f"raster {entry.get('name')!r} points outside the raster directory")
    return path


def add_raster(engine: sa.Engine, settings: Settings, name: str, src_path, *,
               title: str | None = None, kind: str | None = None) -> dict:
    """Register (or replace) raster `name` from a GeoTIFF; returns its entry with
    `changed` telling whether anything was written."""
    check_name(name)
    if kind is not None and kind not in KINDS:
        raise InvalidParameter(f"unknown raster kind {kind!r}: use one of {', '.join(KINDS)}")
    guard_gdal()
    src = check_source(src_path, settings)
    sha = file_sha256(src)
    unchanged = _unchanged_entry(engine, settings, name, sha, title, kind)
    if unchanged is not None:
        return {**unchanged, "changed": False}

    with rasterio.Env(**GDAL_SAFE_ENV), _open_geotiff(src) as ds:
        chosen_kind = kind or guess_kind(ds.count, ds.dtypes[0])
    tmp, facts, stats = write_cog(src, settings.raster_dir, kind=chosen_kind)
    final = settings.raster_dir / f"{name}.tif"
    try:
        values = {"name": name, "title": title or name, "path": final.name,
                  "crs": facts["crs"], "width": facts["width"], "height": facts["height"],
                  "band_count": facts["band_count"], "dtype": facts["dtype"],
                  "nodata": facts["nodata"], "stats": stats, "kind": chosen_kind,
                  "file_sha256": sha, "bounds": from_shape(box(*facts["bbox"]), srid=STORAGE_SRID)}
        stmt = pg_insert(_table).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_table.c.name],
            set_={k: stmt.excluded[k] for k in values
                  if k != "name" and not (k == "title" and title is None)}   # keep a given title
            | {"added_at": sa.func.now()})
        _swap_in(engine, stmt, tmp, final)
        with engine.connect() as conn:
            return {**get_raster(conn, name), "changed": True}
    finally:
        tmp.unlink(missing_ok=True)


def _swap_in(engine: sa.Engine, stmt, tmp: Path, final: Path) -> None:
    """Upsert the row and rename the COG into place as one step: the rename is the last
    thing before commit, and a failed commit puts the previous file back."""
    backup = final.with_name(f".previous-{final.name}")
    backup.unlink(missing_ok=True)
    had_previous = final.exists()
    if had_previous:
        os.link(final, backup)
    try:
        with db_errors(), engine.begin() as conn:
            conn.execute(stmt)
            os.replace(tmp, final)
    except BaseException:
        if had_previous:
            os.replace(backup, final)
        else:
            final.unlink(missing_ok=True)
        raise
    backup.unlink(missing_ok=True)


def _unchanged_entry(engine, settings, name, sha, title, kind) -> dict | None:
    """The existing entry when it already holds this very file (and the same title and
    kind, when given) and its COG is on disk; otherwise None."""
    with engine.connect() as conn:
        try:
            entry = get_raster(conn, name)
        except NotFound:
            return None
    if entry["file_sha256"] != sha or not raster_path(settings, entry).is_file():
        return None
    if (title is not None and title != entry["title"]) or (kind is not None and kind != entry["kind"]):
        return None
    return entry


def remove_raster(engine: sa.Engine, settings: Settings, name: str) -> dict:
    """Unregister a raster and delete its COG; returns the removed entry."""
    with db_errors(), engine.begin() as conn:
        entry = get_raster(conn, name)
        conn.execute(sa.delete(_table).where(_table.c.name == name))
    raster_path(settings, entry).unlink(missing_ok=True)
    return entry
