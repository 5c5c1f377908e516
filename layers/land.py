"""Land: administrative units, cadastral parcels and planning zones."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from geoalchemy2 import WKBElement
from sqlalchemy.orm import Mapped, mapped_column

from gisdb.model import Base, geom_column, id_column, layer_constraints, mercator_column, updated_column

from .layer import Field, Layer, Style

SCHEMA = "land"

# Land-use codes of Vietnam's land law (Luật Đất đai 2024, Circular 08/2024/TT-BTNMT):
# (code, colour, Vietnamese, English)
LAND_USE_CODES = (
    ("ODT", "#f4a6a6", "Đất ở tại đô thị", "Urban residential land"),
    ("ONT", "#f7c6a3", "Đất ở tại nông thôn", "Rural residential land"),
    ("TMD", "#e06666", "Đất thương mại, dịch vụ", "Commercial and service land"),
    ("SKC", "#b4a7d6", "Đất cơ sở sản xuất phi nông nghiệp", "Non-agricultural production land"),
    ("SKK", "#8e7cc3", "Đất khu công nghiệp", "Industrial park land"),
    ("DGT", "#cccccc", "Đất giao thông", "Transport land"),
    ("DGD", "#ffd966", "Đất xây dựng cơ sở giáo dục", "Education facility land"),
    ("DYT", "#ea9999", "Đất xây dựng cơ sở y tế", "Health facility land"),
    ("DVH", "#d5a6bd", "Đất xây dựng cơ sở văn hóa", "Cultural facility land"),
    ("DKV", "#93c47d", "Đất khu vui chơi, giải trí công cộng", "Public recreation land"),
    ("TSC", "#c27ba0", "Đất xây dựng trụ sở cơ quan", "Government office land"),
    ("CQP", "#a61c00", "Đất quốc phòng", "Defence land"),
    ("CLN", "#6aa84f", "Đất trồng cây lâu năm", "Perennial crop land"),
    ("LUC", "#d9ead3", "Đất chuyên trồng lúa", "Paddy land"),
    ("NTS", "#9fc5e8", "Đất nuôi trồng thủy sản", "Aquaculture land"),
    ("RSX", "#38761d", "Đất rừng sản xuất", "Production forest land"),
    ("SON", "#6fa8dc", "Đất có mặt nước chuyên dùng / sông", "Rivers and water surfaces"),
    ("BCS", "#efefef", "Đất bằng chưa sử dụng", "Unused flat land"),
)
LAND_USE_VALUES = tuple(c[0] for c in LAND_USE_CODES)
OWNER_TYPES = ("household", "organisation", "state", "religious", "foreign", "community")
ADMIN_LEVELS = ("city", "district", "ward", "commune")


def _in(column: str, values: tuple[str, ...], name: str) -> sa.CheckConstraint:
    quoted = ", ".join("'" + v + "'" for v in values)  # constants of this module only
    return sa.CheckConstraint(column + " IN (" + quoted + ")", name=name)


class AdminUnit(Base):
    """City, districts (until the 2025 reform) and wards/communes, with validity."""

    __tablename__ = "admin_units"
    __table_args__ = (*layer_constraints("admin_units", ("code", "valid_from")),
                      _in("level", ADMIN_LEVELS, "admin_units_level"),
                      sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from",
                                         name="admin_units_validity"),
                      {"schema": SCHEMA})

    id: Mapped[int] = id_column()
    code: Mapped[str] = mapped_column(sa.Text)            # GSO unit code, e.g. "20194"
    name: Mapped[str] = mapped_column(sa.Text)             # "Phường Hải Châu"
    name_en: Mapped[str | None] = mapped_column(sa.Text)
    level: Mapped[str] = mapped_column(sa.Text)
    parent_code: Mapped[str | None] = mapped_column(sa.Text)
    population: Mapped[int | None] = mapped_column(sa.Integer)
    valid_from: Mapped[dt.date] = mapped_column(sa.Date)
    valid_to: Mapped[dt.date | None] = mapped_column(sa.Date)
    updated_at: Mapped[dt.datetime] = updated_column()
    geom: Mapped[WKBElement] = geom_column("MULTIPOLYGON")
    geom_3857: Mapped[WKBElement] = mercator_column("MULTIPOLYGON")


class Parcel(Base):
    """Cadastral parcel (thửa đất): unique by ward + map sheet + parcel number."""

    __tablename__ = "parcels"
    __table_args__ = (*layer_constraints("parcels", ("ward_code", "sheet_no", "parcel_no")),
                      _in("land_use", LAND_USE_VALUES, "parcels_land_use"),
                      _in("owner_type", OWNER_TYPES, "parcels_owner_type"),
                      sa.CheckConstraint("area_m2 > 0", name="parcels_area_positive"),
                      {"schema": SCHEMA})

    id: Mapped[int] = id_column()
    ward_code: Mapped[str] = mapped_column(sa.Text)
    sheet_no: Mapped[int] = mapped_column(sa.Integer)      # số tờ bản đồ
    parcel_no: Mapped[int] = mapped_column(sa.Integer)     # số thửa
    area_m2: Mapped[Decimal] = mapped_column(sa.Numeric(12, 1))
    land_use: Mapped[str] = mapped_column(sa.Text)
    owner_type: Mapped[str | None] = mapped_column(sa.Text)
    address: Mapped[str | None] = mapped_column(sa.Text)
    certificate_no: Mapped[str | None] = mapped_column(sa.Text)  # số GCN
    updated_at: Mapped[dt.datetime] = updated_column()
    geom: Mapped[WKBElement] = geom_column("MULTIPOLYGON")
    geom_3857: Mapped[WKBElement] = mercator_column("MULTIPOLYGON")


class Zone(Base):
    """Zoning plan area with its building limits (quy hoạch phân khu)."""

    __tablename__ = "zoning"
    __table_args__ = (*layer_constraints("zoning", ("zone_code",)),
                      _in("planned_use", LAND_USE_VALUES, "zoning_planned_use"),
                      sa.CheckConstraint("max_coverage_pct IS NULL OR max_coverage_pct BETWEEN 0 AND 100",
                                         name="zoning_coverage_range"),
                      {"schema": SCHEMA})

    id: Mapped[int] = id_column()
    zone_code: Mapped[str] = mapped_column(sa.Text)
    name: Mapped[str | None] = mapped_column(sa.Text)
    planned_use: Mapped[str] = mapped_column(sa.Text)
    max_floors: Mapped[int | None] = mapped_column(sa.SmallInteger)
    max_height_m: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 1))
    max_coverage_pct: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 1))
    max_far: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 2))   # hệ số sử dụng đất
    plan_name: Mapped[str | None] = mapped_column(sa.Text)
    approved_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    updated_at: Mapped[dt.datetime] = updated_column()
    geom: Mapped[WKBElement] = geom_column("MULTIPOLYGON")
    geom_3857: Mapped[WKBElement] = mercator_column("MULTIPOLYGON")


LAYERS = (
    Layer(
        id="admin_units", group="land", title_vi="Đơn vị hành chính",
        title_en="Administrative units", model=AdminUnit, geometry_type="MultiPolygon",
        natural_key=("code", "valid_from"),
        fields=(Field("code", "Mã đơn vị", "Unit code", on_tiles=True),
                Field("name", "Tên", "Name", on_tiles=True),
                Field("name_en", "Tên tiếng Anh", "English name"),
                Field("level", "Cấp", "Level", on_tiles=True),
                Field("parent_code", "Mã đơn vị cấp trên", "Parent code"),
                Field("population", "Dân số", "Population"),
                Field("valid_from", "Hiệu lực từ", "Valid from", on_tiles=True),
                Field("valid_to", "Hiệu lực đến", "Valid to", on_tiles=True)),
        style=Style(stroke="#7b3294", fill=None, width=2.0, fill_opacity=0.0, dash="6 4"),
        min_zoom=0, max_zoom=22, label_field="name", search_fields=("name", "code"),
        time_field="valid_from", time_end_field="valid_to",
        description_en="City, districts (before 1 July 2025) and wards/communes, with validity dates."),
    Layer(
        id="parcels", group="land", title_vi="Thửa đất", title_en="Land parcels",
        model=Parcel, geometry_type="MultiPolygon",
        natural_key=("ward_code", "sheet_no", "parcel_no"),
        fields=(Field("ward_code", "Mã phường/xã", "Ward code", on_tiles=True),
                Field("sheet_no", "Số tờ bản đồ", "Map sheet no.", on_tiles=True),
                Field("parcel_no", "Số thửa", "Parcel no.", on_tiles=True),
                Field("area_m2", "Diện tích (m²)", "Area (m²)", on_tiles=True),
                Field("land_use", "Loại đất", "Land use", on_tiles=True),
                Field("owner_type", "Loại chủ sử dụng", "Owner type"),
                Field("address", "Địa chỉ", "Address"),
                Field("certificate_no", "Số GCN", "Certificate no.")),
        style=Style(stroke="#8c6d31", fill="#f4a6a6", width=0.6, fill_opacity=0.45,
                    category_field="land_use", categories=LAND_USE_CODES),
        # from z14: at z13 a parcel is a pixel or two and a city's 50,000 of them in one
        # tile weigh 0.5 MB gzipped, a carpet with nothing to read (issue 16)
        min_zoom=14, max_zoom=22, label_field="parcel_no",
        search_fields=("ward_code", "sheet_no", "parcel_no", "address"),
        description_en="Cadastral parcels with map sheet, parcel number and land-use code."),
    Layer(
        id="zoning", group="land", title_vi="Quy hoạch phân khu", title_en="Zoning",
        model=Zone, geometry_type="MultiPolygon", natural_key=("zone_code",),
        fields=(Field("zone_code", "Mã khu", "Zone code", on_tiles=True),
                Field("name", "Tên khu", "Name", on_tiles=True),
                Field("planned_use", "Chức năng quy hoạch", "Planned use", on_tiles=True),
                Field("max_floors", "Số tầng tối đa", "Max floors", on_tiles=True),
                Field("max_height_m", "Chiều cao tối đa (m)", "Max height (m)"),
                Field("max_coverage_pct", "Mật độ xây dựng tối đa (%)", "Max coverage (%)"),
                Field("max_far", "Hệ số sử dụng đất tối đa", "Max floor-area ratio"),
                Field("plan_name", "Đồ án quy hoạch", "Plan"),
                Field("approved_on", "Ngày phê duyệt", "Approved on")),
        style=Style(stroke="#3c78d8", fill="#a4c2f4", width=1.2, fill_opacity=0.25,
                    category_field="planned_use", categories=LAND_USE_CODES),
        min_zoom=10, max_zoom=22, label_field="zone_code", search_fields=("zone_code", "name"),
        description_en="Zoning plan areas with planned use and building limits."),
)
