"""Traffic: road segments, intersections, counting stations (with hourly counts),
incidents and cameras."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from geoalchemy2 import WKBElement
from sqlalchemy.orm import Mapped, mapped_column

from gisdb.model import Base, geom_column, id_column, layer_constraints, mercator_column, updated_column

from .land import _in
from .layer import Field, Layer, Style

SCHEMA = "traffic"

ROAD_CLASSES = (
    ("expressway", "#e06666", "Đường cao tốc", "Expressway"),
    ("arterial", "#f6b26b", "Đường trục chính", "Arterial"),
    ("primary", "#ffd966", "Đường chính", "Primary"),
    ("secondary", "#ffe599", "Đường khu vực", "Secondary"),
    ("local", "#ffffff", "Đường nội bộ", "Local"),
    ("alley", "#dddddd", "Kiệt, hẻm", "Alley"),
)
# At city zoom the main network only (arterials and expressways at z10-z11, then one class
# more per zoom): the million-feature city has ~38,000 segments, and
# every one drawn at z11 is a grey carpet over the city (docs/map.md, the first view).
ROAD_CLASS_MIN_ZOOM = (("primary", 12), ("secondary", 13), ("local", 14), ("alley", 15))
SURFACES = ("asphalt", "concrete", "paving", "gravel", "earth")
INCIDENT_TYPES = ("collision", "breakdown", "flooding", "roadwork", "congestion", "other")
CAMERA_TYPES = ("traffic", "speed", "red_light", "surveillance")


class Road(Base):
    __tablename__ = "roads"
    __table_args__ = (*layer_constraints("roads", ("segment_code",)),
                      _in("road_class", tuple(c[0] for c in ROAD_CLASSES), "roads_class"),
                      _in("surface", SURFACES, "roads_surface"),
                      sa.CheckConstraint("lanes IS NULL OR lanes BETWEEN 1 AND 12", name="roads_lanes"),
                      {"schema": SCHEMA})

    id: Mapped[int] = id_column()
    segment_code: Mapped[str] = mapped_column(sa.Text)
    name: Mapped[str | None] = mapped_column(sa.Text)
    road_class: Mapped[str] = mapped_column(sa.Text)
    lanes: Mapped[int | None] = mapped_column(sa.SmallInteger)
    width_m: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 1))
    surface: Mapped[str | None] = mapped_column(sa.Text)
    oneway: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    max_speed_kmh: Mapped[int | None] = mapped_column(sa.SmallInteger)
    updated_at: Mapped[dt.datetime] = updated_column()
    geom: Mapped[WKBElement] = geom_column("MULTILINESTRING")
    geom_3857: Mapped[WKBElement] = mercator_column("MULTILINESTRING")


class Intersection(Base):
    __tablename__ = "intersections"
    __table_args__ = (*layer_constraints("intersections", ("node_code",)), {"schema": SCHEMA})

    id: Mapped[int] = id_column()
    node_code: Mapped[str] = mapped_column(sa.Text)
    name: Mapped[str | None] = mapped_column(sa.Text)
    signalised: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    legs: Mapped[int | None] = mapped_column(sa.SmallInteger)
    updated_at: Mapped[dt.datetime] = updated_column()
    geom: Mapped[WKBElement] = geom_column("POINT")
    geom_3857: Mapped[WKBElement] = mercator_column("POINT")


class TrafficStation(Base):
    """Counting station on a road; its hourly counts are in `traffic_counts`."""

    __tablename__ = "traffic_stations"
    __table_args__ = (*layer_constraints("traffic_stations", ("station_code",)), {"schema": SCHEMA})

    id: Mapped[int] = id_column()
    station_code: Mapped[str] = mapped_column(sa.Text)
    name: Mapped[str | None] = mapped_column(sa.Text)
    road_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("traffic.roads.id", ondelete="SET NULL"), index=True)
    direction: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[dt.datetime] = updated_column()
    geom: Mapped[WKBElement] = geom_column("POINT")
    geom_3857: Mapped[WKBElement] = mercator_column("POINT")


class TrafficCount(Base):
    """Hourly vehicle counts at a station (a time series, not a map layer)."""

    __tablename__ = "traffic_counts"
    __table_args__ = (sa.UniqueConstraint("station_id", "counted_at", name="traffic_counts_natural_key"),
                      sa.CheckConstraint("motorbikes >= 0 AND cars >= 0 AND trucks >= 0 AND buses >= 0",
                                         name="traffic_counts_non_negative"),
                      {"schema": SCHEMA})

    id: Mapped[int] = id_column()
    station_id: Mapped[int] = mapped_column(
        sa.ForeignKey("traffic.traffic_stations.id", ondelete="CASCADE"))
    counted_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    motorbikes: Mapped[int] = mapped_column(sa.Integer)
    cars: Mapped[int] = mapped_column(sa.Integer)
    trucks: Mapped[int] = mapped_column(sa.Integer)
    buses: Mapped[int] = mapped_column(sa.Integer)
    avg_speed_kmh: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 1))


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (*layer_constraints("incidents", ("incident_code",)),
                      _in("incident_type", INCIDENT_TYPES, "incidents_type"),
                      sa.CheckConstraint("severity BETWEEN 1 AND 4", name="incidents_severity"),
                      {"schema": SCHEMA})

    id: Mapped[int] = id_column()
    incident_code: Mapped[str] = mapped_column(sa.Text)
    occurred_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
    cleared_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    incident_type: Mapped[str] = mapped_column(sa.Text)
    severity: Mapped[int] = mapped_column(sa.SmallInteger)   # 1 minor .. 4 fatal
    description: Mapped[str | None] = mapped_column(sa.Text)
    road_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("traffic.roads.id", ondelete="SET NULL"), index=True)
    updated_at: Mapped[dt.datetime] = updated_column()
    geom: Mapped[WKBElement] = geom_column("POINT")
    geom_3857: Mapped[WKBElement] = mercator_column("POINT")


class Camera(Base):
    __tablename__ = "cameras"
    __table_args__ = (*layer_constraints("cameras", ("camera_code",)),
                      _in("camera_type", CAMERA_TYPES, "cameras_type"), {"schema": SCHEMA})

    id: Mapped[int] = id_column()
    camera_code: Mapped[str] = mapped_column(sa.Text)
    name: Mapped[str | None] = mapped_column(sa.Text)
    camera_type: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text, server_default="online")
    intersection_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("traffic.intersections.id", ondelete="SET NULL"), index=True)
    installed_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    updated_at: Mapped[dt.datetime] = updated_column()
    geom: Mapped[WKBElement] = geom_column("POINT")
    geom_3857: Mapped[WKBElement] = mercator_column("POINT")


LAYERS = (
    Layer(
        id="roads", group="traffic", title_vi="Đường giao thông", title_en="Roads",
        model=Road, geometry_type="MultiLineString", natural_key=("segment_code",),
        fields=(Field("segment_code", "Mã đoạn", "Segment code"),
                Field("name", "Tên đường", "Street name", on_tiles=True),
                Field("road_class", "Cấp đường", "Road class", on_tiles=True),
                Field("lanes", "Số làn", "Lanes", on_tiles=True),
                Field("width_m", "Bề rộng (m)", "Width (m)"),
                Field("surface", "Mặt đường", "Surface"),
                Field("oneway", "Một chiều", "One-way", on_tiles=True),
                Field("max_speed_kmh", "Tốc độ tối đa (km/h)", "Speed limit (km/h)")),
        style=Style(stroke="#f6b26b", width=2.0, category_field="road_class", categories=ROAD_CLASSES,
                    category_min_zoom=ROAD_CLASS_MIN_ZOOM),
        min_zoom=10, max_zoom=22, label_field="name", search_fields=("name", "segment_code"),
        description_en="Road segments with class, lanes, width, surface and speed limit."),
    Layer(
        id="intersections", group="traffic", title_vi="Nút giao thông", title_en="Intersections",
        model=Intersection, geometry_type="Point", natural_key=("node_code",),
        fields=(Field("node_code", "Mã nút", "Node code", on_tiles=True),
                Field("name", "Tên nút", "Name", on_tiles=True),
                Field("signalised", "Có đèn tín hiệu", "Signalised", on_tiles=True),
                Field("legs", "Số nhánh", "Legs")),
        style=Style(stroke="#444444", fill="#ffffff", width=1.0, radius=3.0, fill_opacity=1.0),
        min_zoom=14, max_zoom=22, label_field="name", search_fields=("name", "node_code"),
        description_en="Road intersections, signalised or not."),
    Layer(
        id="traffic_stations", group="traffic", title_vi="Trạm đếm xe", title_en="Traffic counting stations",
        model=TrafficStation, geometry_type="Point", natural_key=("station_code",),
        fields=(Field("station_code", "Mã trạm", "Station code", on_tiles=True),
                Field("name", "Tên trạm", "Name", on_tiles=True),
                Field("road_id", "Đoạn đường", "Road id"),
                Field("direction", "Hướng", "Direction")),
        style=Style(stroke="#134f5c", fill="#45818e", width=1.0, radius=5.0, fill_opacity=0.9),
        min_zoom=11, max_zoom=22, label_field="name", search_fields=("name", "station_code"),
        description_en="Traffic counting stations; hourly counts are linked to each."),
    Layer(
        id="incidents", group="traffic", title_vi="Sự cố giao thông", title_en="Traffic incidents",
        model=Incident, geometry_type="Point", natural_key=("incident_code",),
        fields=(Field("incident_code", "Mã sự cố", "Incident code", on_tiles=True),
                Field("occurred_at", "Thời điểm", "Occurred at", on_tiles=True),
                Field("cleared_at", "Giải tỏa lúc", "Cleared at"),
                Field("incident_type", "Loại sự cố", "Type", on_tiles=True),
                Field("severity", "Mức độ", "Severity", on_tiles=True),
                Field("description", "Mô tả", "Description"),
                Field("road_id", "Đoạn đường", "Road id")),
        style=Style(stroke="#990000", fill="#ff0000", width=1.0, radius=4.5, fill_opacity=0.9),
        min_zoom=11, max_zoom=22, label_field="incident_code", search_fields=("incident_code",),
        time_field="occurred_at",
        description_en="Traffic incidents with time, type and severity (1 minor to 4 fatal)."),
    Layer(
        id="cameras", group="traffic", title_vi="Camera giao thông", title_en="Traffic cameras",
        model=Camera, geometry_type="Point", natural_key=("camera_code",),
        fields=(Field("camera_code", "Mã camera", "Camera code", on_tiles=True),
                Field("name", "Tên", "Name", on_tiles=True),
                Field("camera_type", "Loại camera", "Camera type", on_tiles=True),
                Field("status", "Trạng thái", "Status", on_tiles=True),
                Field("intersection_id", "Nút giao", "Intersection id"),
                Field("installed_on", "Ngày lắp đặt", "Installed on")),
        style=Style(stroke="#351c75", fill="#8e7cc3", width=1.0, radius=4.0, fill_opacity=0.9),
        min_zoom=13, max_zoom=22, label_field="name", search_fields=("name", "camera_code"),
        description_en="Traffic and surveillance cameras."),
)
