"""Construction: buildings, building permits and investment projects."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from geoalchemy2 import WKBElement
from sqlalchemy.orm import Mapped, mapped_column

from gisdb.model import Base, geom_column, id_column, layer_constraints, mercator_column, updated_column

from .land import _in
from .layer import Field, Layer, Style

SCHEMA = "construction"

BUILDING_USES = (
    ("residential", "#e69138", "Nhà ở", "Residential"),
    ("commercial", "#cc0000", "Thương mại", "Commercial"),
    ("office", "#3d85c6", "Văn phòng", "Office"),
    ("mixed", "#b45f06", "Hỗn hợp", "Mixed use"),
    ("industrial", "#674ea7", "Công nghiệp", "Industrial"),
    ("public", "#6aa84f", "Công cộng", "Public"),
    ("religious", "#bf9000", "Tôn giáo", "Religious"),
)
BUILDING_STATUS = ("existing", "under_construction", "planned", "demolished")
PERMIT_TYPES = ("new", "renovation", "extension", "demolition")
PERMIT_STATUS = ("issued", "expired", "revoked", "pending")
PROJECT_PHASES = ("planning", "approval", "site_clearance", "construction", "completed", "suspended")


class Building(Base):
    __tablename__ = "buildings"
    __table_args__ = (*layer_constraints("buildings", ("building_code",)),
                      _in("use", tuple(u[0] for u in BUILDING_USES), "buildings_use"),
                      _in("status", BUILDING_STATUS, "buildings_status"),
                      sa.CheckConstraint("floors IS NULL OR floors BETWEEN 0 AND 200",
                                         name="buildings_floors_range"),
                      {"schema": SCHEMA})

    id: Mapped[int] = id_column()
    building_code: Mapped[str] = mapped_column(sa.Text)
    parcel_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("land.parcels.id", ondelete="SET NULL"), index=True)
    name: Mapped[str | None] = mapped_column(sa.Text)
    floors: Mapped[int | None] = mapped_column(sa.SmallInteger)
    height_m: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 1))
    use: Mapped[str] = mapped_column(sa.Text)
    year_built: Mapped[int | None] = mapped_column(sa.SmallInteger)
    status: Mapped[str] = mapped_column(sa.Text, server_default="existing")
    address: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[dt.datetime] = updated_column()
    geom: Mapped[WKBElement] = geom_column("MULTIPOLYGON")
    geom_3857: Mapped[WKBElement] = mercator_column("MULTIPOLYGON")


class Permit(Base):
    """Building permit (giấy phép xây dựng), located at its parcel."""

    __tablename__ = "permits"
    __table_args__ = (*layer_constraints("permits", ("permit_no",)),
                      _in("permit_type", PERMIT_TYPES, "permits_type"),
                      _in("status", PERMIT_STATUS, "permits_status"),
                      sa.CheckConstraint("expires_on IS NULL OR expires_on >= issued_on",
                                         name="permits_dates"),
                      {"schema": SCHEMA})

    id: Mapped[int] = id_column()
    permit_no: Mapped[str] = mapped_column(sa.Text)          # "123/GPXD-SXD"
    parcel_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("land.parcels.id", ondelete="RESTRICT"), index=True)
    building_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("construction.buildings.id", ondelete="SET NULL"), index=True)
    permit_type: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text, server_default="issued")
    applicant: Mapped[str | None] = mapped_column(sa.Text)
    issued_on: Mapped[dt.date] = mapped_column(sa.Date)
    expires_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    permitted_floors: Mapped[int | None] = mapped_column(sa.SmallInteger)
    permitted_floor_area_m2: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 1))
    permitted_height_m: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 1))
    updated_at: Mapped[dt.datetime] = updated_column()
    geom: Mapped[WKBElement] = geom_column("POINT")
    geom_3857: Mapped[WKBElement] = mercator_column("POINT")


class Project(Base):
    """Public or private investment project (dự án đầu tư)."""

    __tablename__ = "projects"
    __table_args__ = (*layer_constraints("projects", ("project_code",)),
                      _in("phase", PROJECT_PHASES, "projects_phase"),
                      sa.CheckConstraint("budget_vnd IS NULL OR budget_vnd >= 0",
                                         name="projects_budget"),
                      {"schema": SCHEMA})

    id: Mapped[int] = id_column()
    project_code: Mapped[str] = mapped_column(sa.Text)
    name: Mapped[str] = mapped_column(sa.Text)
    investor: Mapped[str | None] = mapped_column(sa.Text)
    budget_vnd: Mapped[int | None] = mapped_column(sa.BigInteger)
    phase: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str | None] = mapped_column(sa.Text)
    start_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    end_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    area_m2: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 1))
    updated_at: Mapped[dt.datetime] = updated_column()
    geom: Mapped[WKBElement] = geom_column("MULTIPOLYGON")
    geom_3857: Mapped[WKBElement] = mercator_column("MULTIPOLYGON")


LAYERS = (
    Layer(
        id="buildings", group="construction", title_vi="Công trình xây dựng",
        title_en="Buildings", model=Building, geometry_type="MultiPolygon",
        natural_key=("building_code",),
        fields=(Field("building_code", "Mã công trình", "Building code", on_tiles=True),
                Field("parcel_id", "Thửa đất", "Parcel id"),
                Field("name", "Tên", "Name"),
                Field("floors", "Số tầng", "Floors", on_tiles=True),
                Field("height_m", "Chiều cao (m)", "Height (m)", on_tiles=True),
                Field("use", "Công năng", "Use", on_tiles=True),
                Field("year_built", "Năm xây dựng", "Year built"),
                Field("status", "Tình trạng", "Status", on_tiles=True),
                Field("address", "Địa chỉ", "Address")),
        style=Style(stroke="#7f6000", fill="#e69138", width=0.5, fill_opacity=0.8,
                    category_field="use", categories=BUILDING_USES),
        min_zoom=14, max_zoom=22, label_field="building_code",
        search_fields=("building_code", "name", "address"),
        description_en="Building footprints with floors, height, use, year and status."),
    Layer(
        id="permits", group="construction", title_vi="Giấy phép xây dựng",
        title_en="Building permits", model=Permit, geometry_type="Point",
        natural_key=("permit_no",),
        fields=(Field("permit_no", "Số giấy phép", "Permit no.", on_tiles=True),
                Field("parcel_id", "Thửa đất", "Parcel id"),
                Field("building_id", "Công trình", "Building id"),
                Field("permit_type", "Loại giấy phép", "Permit type", on_tiles=True),
                Field("status", "Trạng thái", "Status", on_tiles=True),
                Field("applicant", "Chủ đầu tư", "Applicant"),
                Field("issued_on", "Ngày cấp", "Issued on", on_tiles=True),
                Field("expires_on", "Ngày hết hạn", "Expires on"),
                Field("permitted_floors", "Số tầng được phép", "Permitted floors"),
                Field("permitted_floor_area_m2", "Tổng diện tích sàn (m²)", "Permitted floor area (m²)"),
                Field("permitted_height_m", "Chiều cao được phép (m)", "Permitted height (m)")),
        style=Style(stroke="#0b5394", fill="#6fa8dc", width=1.0, fill_opacity=0.9, radius=3.5),
        min_zoom=15, max_zoom=22, label_field="permit_no", search_fields=("permit_no", "applicant"),
        time_field="issued_on",
        description_en="Building permits, located at their parcel."),
    Layer(
        id="projects", group="construction", title_vi="Dự án đầu tư", title_en="Investment projects",
        model=Project, geometry_type="MultiPolygon", natural_key=("project_code",),
        fields=(Field("project_code", "Mã dự án", "Project code", on_tiles=True),
                Field("name", "Tên dự án", "Name", on_tiles=True),
                Field("investor", "Chủ đầu tư", "Investor"),
                Field("budget_vnd", "Tổng mức đầu tư (VNĐ)", "Budget (VND)"),
                Field("phase", "Giai đoạn", "Phase", on_tiles=True),
                Field("status", "Trạng thái", "Status"),
                Field("start_date", "Ngày khởi công", "Start date"),
                Field("end_date", "Ngày hoàn thành", "End date"),
                Field("area_m2", "Diện tích (m²)", "Area (m²)")),
        style=Style(stroke="#cc0000", fill="#ea9999", width=1.5, fill_opacity=0.2, dash="4 3"),
        min_zoom=10, max_zoom=22, label_field="name", search_fields=("project_code", "name", "investor"),
        time_field="start_date",
        description_en="Investment projects with investor, budget and phase."),
)
