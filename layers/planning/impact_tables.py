"""The corridor impact as tables and files: the site-clearance list (CSV), the list, the
ward totals and the overall totals (XLSX sheets), the list with geometries (GeoPackage
in EPSG:4326) and the JSON answer, for `/query/impact?f=` and `gisdb impact --out`."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyogrio
import shapely

from gisdb.errors import InvalidParameter

from .impact import FIELDS, IMPACT_LAYERS, ImpactResult
from .reports.tables import Section, csv_bytes, xlsx_bytes

WARD_HEADER = ("ward_code", "ward_name", "parcels", "parcels_affected_m2", "buildings",
               "buildings_affected_m2")
FORMATS = (".csv", ".xlsx", ".gpkg", ".json")


def features_section(result: ImpactResult) -> Section:
    """The site-clearance list: one row per affected parcel or building."""
    return Section("features", "Danh sách bị ảnh hưởng", "Affected features", FIELDS,
                   [tuple(f[k] for k in FIELDS) for f in result.features])


def ward_section(result: ImpactResult) -> Section:
    """Totals per ward."""
    return Section("wards", "Tổng theo phường, xã", "Totals per ward", WARD_HEADER, [
        (w["ward_code"], w["ward_name"], w["parcels"]["count"], w["parcels"]["affected_m2"],
         w["buildings"]["count"], w["buildings"]["affected_m2"]) for w in result.wards])


def totals_section(result: ImpactResult) -> Section:
    """The overall totals and the parcels per owner type, as (measure, value) rows."""
    rows: list[tuple] = [("corridor_area_m2", result.query.get("corridor_area_m2"))]
    for layer_id in IMPACT_LAYERS:
        t = result.totals[layer_id]
        rows += [(f"{layer_id}_count", t["count"]), (f"{layer_id}_affected_m2", t["affected_m2"]),
                 (f"{layer_id}_whole", t["whole"])]
    rows += [(f"parcels_owner_{k}", v) for k, v in result.totals["parcels_by_owner_type"].items()]
    return Section("totals", "Tổng cộng", "Totals", ("measure", "value"), rows)


def impact_csv(result: ImpactResult) -> bytes:
    """The site-clearance list as a plain CSV table."""
    return csv_bytes([features_section(result)], titles=False)


def impact_xlsx(result: ImpactResult) -> bytes:
    """The list, the ward totals and the totals as three sheets."""
    return xlsx_bytes([features_section(result), ward_section(result), totals_section(result)])


def impact_json(result: ImpactResult) -> bytes:
    """The JSON answer of `/query/impact`."""
    return json.dumps(result.document(), ensure_ascii=False).encode("utf-8")


def _gpkg(result: ImpactResult, target: Path) -> None:
    """The affected features with their geometries, as a GeoPackage layer `impact`."""
    columns = {k: [f[k] for f in result.features] for k in FIELDS}
    columns["geometry"] = [shapely.to_wkb(shapely.geometry.shape(f["geometry"]))
                           for f in result.features]
    table = pa.table(columns, schema=pa.schema(
        [(k, pa.string()) for k in ("layer", "code", "name", "ward_code", "ward_name", "owner_type")]
        + [("id", pa.int64()), ("area_m2", pa.float64()), ("affected_m2", pa.float64()),
           ("share", pa.float64()), ("geometry", pa.binary())]))
    pyogrio.write_arrow(table, target, layer="impact", driver="GPKG", geometry_name="geometry",
                        geometry_type="MultiPolygon", crs="EPSG:4326")


def write_impact(result: ImpactResult, out: str | os.PathLike) -> Path:
    """Write the result to `out` by its extension (.csv, .xlsx, .gpkg, .json), through a
    temporary file renamed into place (no half-written file on failure)."""
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InvalidParameter(f"--out must end in one of {', '.join(FORMATS)}, got {path.name!r}")
    with tempfile.TemporaryDirectory(dir=path.parent or ".") as tmp:
        written = Path(tmp) / ("impact" + suffix)
        if suffix == ".gpkg":
            _gpkg(result, written)
        else:
            makers = {".csv": impact_csv, ".xlsx": impact_xlsx, ".json": impact_json}
            written.write_bytes(makers[suffix](result))
        os.replace(written, path)
    return path
