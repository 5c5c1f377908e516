"""Which coordinate system a file is in, how sure we are, and whether the result lands
in Da Nang.

Rules: a code staff name (`--srs EPSG:5899`) wins. A file's CRS with an EPSG identity is
used as is. A bare `.prj` (often ESRI WKT without datum-shift parameters) is matched
against the EPSG database and the EPSG definition is used, so the datum shift that EPSG
defines for VN-2000 is applied; the confidence of the match is reported and a guess is
warned about. We never go through a proj4 string: that drops the VN-2000 -> WGS 84 shift
and moves data about 200 m. Transformations use pyproj with `always_xy=True`."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from ..errors import ImportFailed, InvalidParameter
from ..model import METRIC_SRID, STORAGE_SRID
from .places import describe_place

# VN-2000 / TM-3 107-45, Da Nang's own grid: where an import measures tolerances in metres.
METRIC_EPSG = METRIC_SRID
# Two geometries closer than this (Hausdorff, metres in METRIC_EPSG) are the same feature:
# a Shapefile's ring order, GeoJSON's rounding and VN-2000's float noise are all far below.
GEOMETRY_TOLERANCE_M = 0.001
# Da Nang after the 1 July 2025 merger with Quang Nam, with a margin (lon/lat, EPSG:4326).
EXPECTED_REGION = (107.0, 14.8, 109.2, 16.6)
MIN_MATCH_CONFIDENCE = 70
# Projected systems Da Nang data is commonly delivered in, tried when coordinates look wrong.
CANDIDATE_EPSG = (5899, 9214, 9216, 5898, 3405, 3406, 32648, 32649, 3857)


@dataclass(frozen=True)
class CrsChoice:
    crs: CRS
    source: str                      # option | file | prj | default
    confidence: int = 100
    guessed: bool = False
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        code = self.crs.to_epsg(min_confidence=100)
        return f"EPSG:{code} ({self.crs.name})" if code else self.crs.name

    @property
    def is_storage(self) -> bool:
        return self.crs.to_epsg(min_confidence=100) == STORAGE_SRID

    def as_dict(self) -> dict:
        return {"crs": self.label, "source": self.source, "confidence": self.confidence,
                "guessed": self.guessed}


def parse_user_srs(text: str) -> CRS:
    try:
        return CRS.from_user_input(text)
    except CRSError as exc:
        raise InvalidParameter(f"--srs {text!r} is not a coordinate system pyproj knows: {exc}") from None


# VN-2000 projected systems, matched by their projection parameters when a .prj names
# the datum in a way PROJ does not recognise (then PROJ alone would drop the datum shift).
VN2000_PROJECTED = (5899, 5896, 5897, 5898, 3405, 3406, *range(9205, 9219))
PARAMETER_MATCH_CONFIDENCE = 50


def _parameters(crs: CRS) -> tuple | None:
    op = crs.coordinate_operation
    if op is None or crs.ellipsoid is None:
        return None
    values = tuple(sorted((p.name, round(p.value, 6)) for p in op.params))
    return op.method_name, values, round(crs.ellipsoid.semi_major_metre, 3), \
        round(crs.ellipsoid.inverse_flattening, 6)


def _match_parameters(crs: CRS) -> CRS | None:
    """A VN-2000 EPSG system with exactly the same projection and ellipsoid, if any."""
    wanted = _parameters(crs) if crs.is_projected else None
    if wanted is None:
        return None
    for code in VN2000_PROJECTED:
        candidate = CRS.from_epsg(code)
        if _parameters(candidate) == wanted:
            return candidate
    return None


def _best_match(crs: CRS) -> tuple[CRS | None, int]:
    matches = crs.list_authority(auth_name="EPSG", min_confidence=MIN_MATCH_CONFIDENCE)
    if not matches:
        by_parameters = _match_parameters(crs)
        return by_parameters, (PARAMETER_MATCH_CONFIDENCE if by_parameters else 0)
    best = max(matches, key=lambda m: m.confidence)
    return CRS.from_epsg(int(best.code)), int(best.confidence)


def resolve_crs(user_srs: str | None, file_crs: str | None, default_epsg: int | None = STORAGE_SRID,
                file_label: str = "the file") -> CrsChoice:
    """Decide the source CRS. `file_crs` is what the file declares (an `EPSG:n` string
    or WKT from the `.prj`/GeoPackage), None when it declares nothing."""
    declared = None
    if file_crs:
        try:
            declared = CRS.from_user_input(file_crs)
        except CRSError:
            declared = None
    if user_srs:
        chosen = parse_user_srs(user_srs)
        warnings = []
        if declared is not None and not declared.equals(chosen, ignore_axis_order=True):
            match, _ = _best_match(declared)
            if match is None or not match.equals(chosen, ignore_axis_order=True):
                warnings.append(f"--srs {user_srs} differs from the CRS {file_label} declares "
                                f"({declared.name}); using --srs as told")
        return CrsChoice(chosen, "option", 100, False, tuple(warnings))
    if declared is None:
        if file_crs:
            raise ImportFailed(f"the CRS {file_label} declares cannot be read; pass --srs (e.g. --srs EPSG:5899)")
        if default_epsg is None:
            raise ImportFailed(f"{file_label} declares no coordinate system; pass --srs (e.g. --srs EPSG:5899)")
        return CrsChoice(CRS.from_epsg(default_epsg), "default", 100, False,
                         (f"{file_label} declares no coordinate system: assumed EPSG:{default_epsg}",))
    exact = declared.to_epsg(min_confidence=100)
    if exact:
        return CrsChoice(CRS.from_epsg(exact), "file", 100)
    match, confidence = _best_match(declared)
    if match is None:
        raise ImportFailed(f"the CRS {file_label} declares ({declared.name}) matches no EPSG system;"
                           " pass --srs with its EPSG code (e.g. --srs EPSG:5899 for VN-2000 / TM-3 107-45)")
    warning = (f"the CRS {file_label} declares ({declared.name}) was matched to EPSG:{match.to_epsg()} "
               f"({match.name}) with {confidence}% confidence: guessed, check it or pass --srs")
    return CrsChoice(match, "prj", confidence, True, (warning,))


def transformer_to_storage(choice: CrsChoice) -> Transformer | None:
    """EPSG-defined transformation to EPSG:4326 (x=lon, y=lat); None when already 4326."""
    if choice.is_storage:
        return None
    return Transformer.from_crs(choice.crs, CRS.from_epsg(STORAGE_SRID), always_xy=True)


def transform_geometries(geoms: np.ndarray, transformer: Transformer) -> np.ndarray:
    """Reproject shapely geometries in one vectorised call per dimension."""
    def func(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    def func3(coords: np.ndarray) -> np.ndarray:
        x, y, z = transformer.transform(coords[:, 0], coords[:, 1], coords[:, 2])
        return np.column_stack([x, y, z])

    out = np.array(geoms, dtype=object)
    present = ~shapely.is_missing(out)
    has_z = np.zeros(len(out), dtype=bool)
    has_z[present] = shapely.has_z(out[present])
    flat = present & ~has_z
    if flat.any():
        out[flat] = shapely.transform(out[flat], func)
    if has_z.any():
        out[has_z] = shapely.transform(out[has_z], func3, include_z=True)
    return out


def _inside(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    w, s, e, n = EXPECTED_REGION
    return (x >= w) & (x <= e) & (y >= s) & (y <= n)


def diagnose(points: np.ndarray, choice: CrsChoice) -> str | None:
    """Given sample points in the SOURCE CRS (shape (n, 2)), a message naming the likely
    CRS when most of them do not land in the expected region, else None."""
    if len(points) == 0:
        return None
    transformer = transformer_to_storage(choice)
    x, y = points[:, 0], points[:, 1]
    if transformer is not None:
        with np.errstate(all="ignore"):
            x, y = transformer.transform(x, y)
    if _inside(np.asarray(x), np.asarray(y)).mean() >= 0.5:
        return None
    sx, sy = points[:, 0], points[:, 1]
    where = f"read as {choice.label}, the features fall outside Da Nang ({_extent(x, y)})"
    if _inside(sy, sx).mean() >= 0.5:
        return (f"{where}: latitude and longitude look swapped (x holds latitudes, y longitudes);"
                " swap the columns or fix the file")
    geographic = (np.abs(sx) <= 180).all() and (np.abs(sy) <= 90).all()
    if not geographic or choice.crs.is_projected:
        fits = []
        for code in CANDIDATE_EPSG:
            candidate = CRS.from_epsg(code)
            t = Transformer.from_crs(candidate, CRS.from_epsg(STORAGE_SRID), always_xy=True)
            with np.errstate(all="ignore"):
                cx, cy = t.transform(sx, sy)
            if _inside(np.asarray(cx), np.asarray(cy)).mean() >= 0.9:
                fits.append(f"{candidate.name} (EPSG:{code})")
        if fits:
            return (f"{where}: the coordinates look like {fits[0]} metres: pass --srs EPSG:"
                    f"{fits[0].rsplit('EPSG:', 1)[1].rstrip(')')}"
                    + (f" (also possible: {', '.join(fits[1:3])})" if len(fits) > 1 else ""))
    if _fits_area_of_use(choice.crs, np.asarray(x, dtype=float), np.asarray(y, dtype=float)):
        return (f"read as {choice.label}, the features lie {describe_place(np.asarray(x), np.asarray(y))}: "
                "outside Da Nang, where this database's layers are. The coordinate system fits where "
                "they lie, so it is probably right: check that this is the file meant for Da Nang")
    return f"{where}: check the file's coordinate system and pass --srs"


def _fits_area_of_use(crs: CRS, lon: np.ndarray, lat: np.ndarray) -> bool:
    """Whether (nearly) all positions are finite and inside the CRS's area of use: then
    the CRS is plausible and the data simply lies elsewhere."""
    area = crs.area_of_use
    ok = np.isfinite(lon) & np.isfinite(lat)
    if area is None or not ok.any():
        return False
    inside = (lon >= area.west) & (lon <= area.east) & (lat >= area.south) & (lat <= area.north)
    return bool(ok.mean() >= 0.9 and inside[ok].mean() >= 0.9)


def _extent(x, y) -> str:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return "no finite coordinates"
    return f"x {x[ok].min():.4g}..{x[ok].max():.4g}, y {y[ok].min():.4g}..{y[ok].max():.4g}"
