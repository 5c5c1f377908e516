"""The violations layer's table and registry entry: one row per (rule, offending
feature), with what was measured, the limit, and when it was first and last seen. It
is derived data: refreshed from the rules (`layers.planning.violations`), read-only
for the write API, kept out of history and the change feed."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from geoalchemy2 import WKBElement
from sqlalchemy.orm import Mapped, mapped_column

from gisdb.model import Base, geom_column, id_column, mercator_column

from ..layer import Field, Layer, Style

SCHEMA = "planning"
SEVERITY_COLOURS = (("high", "#cc0000", "Nghiêm trọng", "High"),
                    ("medium", "#e69138", "Trung bình", "Medium"),
                    ("low", "#f1c232", "Thấp", "Low"))


class Violation(Base):
    """A feature breaking a planning rule."""

    __tablename__ = "violations"
    __table_args__ = (sa.UniqueConstraint("rule_id", "feature_id", name="violations_natural_key"),
                      sa.CheckConstraint("severity IN ('high', 'medium', 'low')",
                                         name="violations_severity"),
                      {"schema": SCHEMA})

    id: Mapped[int] = id_column()
    rule_id: Mapped[str] = mapped_column(sa.Text, index=True)
    target_layer: Mapped[str] = mapped_column(sa.Text)
    feature_id: Mapped[int] = mapped_column(sa.BigInteger)
    measured: Mapped[Decimal | None] = mapped_column(sa.Numeric)
    limit_value: Mapped[Decimal | None] = mapped_column(sa.Numeric)
    excess: Mapped[Decimal | None] = mapped_column(sa.Numeric)
    unit: Mapped[str | None] = mapped_column(sa.Text)
    severity: Mapped[str] = mapped_column(sa.Text)
    ward_code: Mapped[str | None] = mapped_column(sa.Text, index=True)
    first_seen: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    last_seen: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    geom: Mapped[WKBElement] = geom_column("GEOMETRY")
    geom_3857: Mapped[WKBElement] = mercator_column("GEOMETRY")


class RuleState(Base):
    """When each rule was last refreshed, and the data versions of its input tables then."""

    __tablename__ = "rule_state"
    __table_args__ = {"schema": SCHEMA}

    rule_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    versions: Mapped[dict] = mapped_column(sa.JSON)
    refreshed_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))


LAYERS = (
    Layer(
        id="violations", group="planning", title_vi="Vi phạm quy hoạch, xây dựng",
        title_en="Planning violations", model=Violation, geometry_type="Geometry",
        natural_key=("rule_id", "feature_id"),
        fields=(Field("rule_id", "Quy tắc", "Rule", on_tiles=True),
                Field("target_layer", "Lớp dữ liệu", "Layer", on_tiles=True),
                Field("feature_id", "Mã đối tượng", "Feature id", on_tiles=True),
                Field("measured", "Giá trị đo", "Measured", on_tiles=True),
                Field("limit_value", "Giới hạn", "Limit", on_tiles=True),
                Field("excess", "Vượt", "Excess"),
                Field("unit", "Đơn vị", "Unit", on_tiles=True),
                Field("severity", "Mức độ", "Severity", on_tiles=True),
                Field("ward_code", "Mã phường/xã", "Ward code", on_tiles=True),
                Field("first_seen", "Phát hiện lần đầu", "First seen"),
                Field("last_seen", "Phát hiện gần nhất", "Last seen")),
        style=Style(stroke="#990000", fill="#cc0000", width=2.0, fill_opacity=0.35, radius=5.0,
                    category_field="severity", categories=SEVERITY_COLOURS),
        min_zoom=14, max_zoom=22, label_field="rule_id",   # drawn from street level, as parcels
        description_en="Features breaking a planning rule (derived from the rules, read-only).",
        extra={"derived": True, "read_only": True}),
)
