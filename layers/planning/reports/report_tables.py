"""A report's figures as tables: one Section per block of the report (the unit, land
use, buildings, floors, heights, permits per month, incidents, hotspots, violations),
for its CSV, XLSX and PDF renderings."""
from __future__ import annotations

from .tables import Section


def unit_section(report: dict) -> Section:
    """The unit itself and its headline figures as (field, value) rows."""
    u, b, i = report["unit"], report["buildings"], report["incidents"]
    return Section("unit", "Đơn vị hành chính", "Administrative unit", ("field", "value"), [
        ("code", u["code"]), ("name", u["name"]), ("name_en", u["name_en"]), ("level", u["level"]),
        ("valid_from", u["valid_from"]), ("valid_to", u["valid_to"]), ("area_ha", u["area_ha"]),
        ("population", u["population"]), ("buildings", b["count"]), ("buildings_per_ha", b["per_ha"]),
        ("footprint_m2", b["footprint_m2"]), ("coverage", b["coverage"]),
        ("incidents", i["count"]), ("road_km", i["road_km"]), ("incidents_per_km", i["per_km"]),
        ("violations", report["violations"]["total"]), ("generated_at", report["generated_at"])])


def report_sections(report: dict) -> list[Section]:
    """Every block of the report as a Section, in reading order."""
    b, i, v = report["buildings"], report["incidents"], report["violations"]
    return [
        unit_section(report),
        Section("land_use", "Cơ cấu sử dụng đất", "Land use",
                ("land_use", "label_vi", "label_en", "parcels", "area_m2", "share"),
                [(r["land_use"], r["label_vi"], r["label_en"], r["parcels"], r["area_m2"], r["share"])
                 for r in report["land_use"]]),
        Section("floors", "Công trình theo số tầng", "Buildings by floors", ("floors", "buildings"),
                [(r["floors"], r["count"]) for r in b["floors"]]),
        Section("height", "Công trình theo chiều cao", "Buildings by height", ("from_m", "to_m", "buildings"),
                [(r["from_m"], r["to_m"], r["count"]) for r in b["height"]]),
        Section("permits", "Giấy phép xây dựng theo tháng", "Permits issued per month", ("month", "permits"),
                [(r["month"], r["count"]) for r in report["permits_per_month"]]),
        Section("hotspots", "Điểm nóng tai nạn, sự cố", "Incident hotspots",
                ("road_id", "segment_code", "name", "incidents", "length_m", "per_km"),
                [(r["road_id"], r["segment_code"], r["name"], r["incidents"], r["length_m"], r["per_km"])
                 for r in i["hotspots"]]),
        Section("violations", "Vi phạm theo quy tắc", "Violations per rule",
                ("rule_id", "title_vi", "title_en", "severity", "violations"),
                [(r["rule_id"], r["title_vi"], r["title_en"], r["severity"], r["count"]) for r in v["rules"]]),
    ]
