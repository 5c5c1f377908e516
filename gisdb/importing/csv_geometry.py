"""Where a CSV keeps its geometry, and building it, vectorised, one Arrow batch at a time.

By default the columns are found by name: a WKT column (`wkt`, `geometry`, ...),
longitude/latitude columns (`lon`/`lat`, `kinh_do`/`vi_do`, ...) or one "lat,lng" column
(`latlng`, `toa_do`, ...). Staff can name them instead (`--geometry-columns`), which a
real file with headers such as `Tọa độ bắt đầu` and `Tọa độ kết thúc` needs; what the
named columns hold is read from the first values:

- one column: "lat,lng" pairs (a point) or WKT;
- two columns of numbers: longitude then latitude (or x then y);
- two or more columns of "lat,lng" pairs: a line through those points, in order."""
from __future__ import annotations

import unicodedata
import warnings
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from ..errors import InvalidParameter

WKT_NAMES = ("wkt", "geom", "geometry", "the_geom", "shape", "hinh_hoc")
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "kinh_do", "kinhdo")
LAT_NAMES = ("lat", "latitude", "y", "vi_do", "vido")
LATLNG_NAMES = ("latlng", "lat_lng", "latlon", "lat_lon", "lat,lng", "lat,lon", "coordinates",
                "coords", "toa_do", "toado", "location", "vi_tri")
LNGLAT_NAMES = ("lnglat", "lng_lat", "lonlat", "lon_lat", "lng,lat", "lon,lat")
NUMBER_RE = r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$"
PAIR_RE = r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)\s*[,; ]\s*[-+]?(\d+(\.\d*)?|\.\d+)\s*$"


@dataclass
class CsvGeometry:
    kind: str                        # wkt | xy | pair | line
    columns: tuple[str, ...]
    lat_first: bool = False


def by_name(names: list[str]) -> CsvGeometry:
    """The geometry columns found by their usual names; InvalidParameter when none."""
    lower = {n.lower().strip(): n for n in names}
    for key in WKT_NAMES:
        if key in lower:
            return CsvGeometry("wkt", (lower[key],))
    lon = next((lower[k] for k in LON_NAMES if k in lower), None)
    lat = next((lower[k] for k in LAT_NAMES if k in lower), None)
    if lon and lat:
        return CsvGeometry("xy", (lon, lat))
    for keys, lat_first in ((LATLNG_NAMES, True), (LNGLAT_NAMES, False)):
        for key in keys:
            if key in lower:
                return CsvGeometry("pair", (lower[key],), lat_first=lat_first)
    raise InvalidParameter("the CSV has no geometry: expected a WKT column (wkt, geometry), "
                           "longitude/latitude columns (lon, lat) or one 'lat,lng' column (latlng); "
                           "or name them with --geometry-columns")


def _key(name: str) -> str:
    return unicodedata.normalize("NFC", name).strip().lower()


def named_columns(requested: tuple[str, ...], names: list[str]) -> tuple[str, ...]:
    """The file's columns staff named: each item is a column, or a comma-separated list of
    them (a header that itself holds a comma, like `lat,lng`, is taken whole)."""
    by_key = {_key(n): n for n in names}
    out = []
    for item in requested:
        parts = [item] if _key(item) in by_key else [p for p in item.split(",") if p.strip()]
        for part in parts:
            if _key(part) not in by_key:
                raise InvalidParameter(f"--geometry-columns: the CSV has no column {part.strip()!r} "
                                       f"(columns: {', '.join(names)})")
            out.append(by_key[_key(part)])
    if not out:
        raise InvalidParameter("--geometry-columns names no column")
    return tuple(out)


def _matches(sample: list, pattern: str) -> bool:
    """Whether most non-empty sample values match `pattern` (and there is one at least)."""
    values = [str(v) for v in sample if v is not None and str(v).strip()]
    if not values:
        return False
    hits = pc.sum(pc.match_substring_regex(pa.array(values, pa.string()), pattern)).as_py() or 0
    return hits >= 0.5 * len(values)


def by_content(columns: tuple[str, ...], samples: dict[str, list]) -> CsvGeometry:
    """What the named columns hold, from their first values (see the module docstring)."""
    pairs = all(_matches(samples[c], PAIR_RE) for c in columns)
    if len(columns) == 1:
        return CsvGeometry("pair", columns, lat_first=True) if pairs else CsvGeometry("wkt", columns)
    if pairs:
        return CsvGeometry("line", columns, lat_first=True)
    if len(columns) == 2 and all(_matches(samples[c], NUMBER_RE) for c in columns):
        return CsvGeometry("xy", columns)
    raise InvalidParameter(f"--geometry-columns {', '.join(columns)}: expected two columns of numbers "
                           "(longitude, latitude) or columns of 'lat,lng' pairs")


def numbers(arr) -> np.ndarray:
    """Text or numbers -> float64, NaN where the text is not a number."""
    text = pc.cast(arr, pa.string())
    ok = pc.fill_null(pc.match_substring_regex(text, NUMBER_RE), False)
    values = pc.cast(pc.utf8_trim_whitespace(pc.if_else(ok, text, None)), pa.float64())
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=float)


def _pair_xy(column, lat_first: bool) -> tuple[np.ndarray, np.ndarray]:
    col = pc.cast(column, pa.string())
    ok = pc.fill_null(pc.match_substring_regex(col, PAIR_RE), False)
    parts = pc.split_pattern_regex(pc.if_else(ok, pc.utf8_trim_whitespace(col), None), r"\s*[,; ]\s*")
    first = numbers(pc.list_element(parts, 0))
    second = numbers(pc.list_element(parts, 1))
    return (second, first) if lat_first else (first, second)


def geometries(batch: pa.RecordBatch, spec: CsvGeometry) -> np.ndarray:
    """Shapely geometries of one batch (None where a row has none or a bad one)."""
    n = batch.num_rows
    out = np.full(n, None, dtype=object)
    if spec.kind == "wkt":
        text = batch.column(spec.columns[0]).to_numpy(zero_copy_only=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return shapely.from_wkt(text, on_invalid="ignore")
    if spec.kind == "line":
        xy = [_pair_xy(batch.column(c), spec.lat_first) for c in spec.columns]
        coords = np.stack([np.column_stack(p) for p in xy], axis=1)          # (n, points, 2)
        good = np.isfinite(coords).all(axis=(1, 2))
        if good.any():
            out[good] = shapely.linestrings(coords[good])
        return out
    if spec.kind == "xy":
        x, y = numbers(batch.column(spec.columns[0])), numbers(batch.column(spec.columns[1]))
    else:
        x, y = _pair_xy(batch.column(spec.columns[0]), spec.lat_first)
    good = np.isfinite(x) & np.isfinite(y)
    out[good] = shapely.points(x[good], y[good])
    return out
