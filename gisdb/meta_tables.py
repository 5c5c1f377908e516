"""Tables of the `meta` schema: data versions, state, the import log, the edit audit
trail, the raster catalog."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from geoalchemy2 import Geometry, WKBElement
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .model import META_SCHEMA, STORAGE_SRID, Base


def _now_column() -> Mapped[dt.datetime]:
    return mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


class LayerVersion(Base):
    """Data version of each table; bumped by a statement trigger on every change."""

    __tablename__ = "layer_versions"
    __table_args__ = {"schema": META_SCHEMA}

    table_name: Mapped[str] = mapped_column(sa.Text, primary_key=True)  # schema.table
    version: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    changed_at: Mapped[dt.datetime] = _now_column()


class SchemaState(Base):
    """Key/value facts about the database (e.g. that the sample city was loaded)."""

    __tablename__ = "state"
    __table_args__ = {"schema": META_SCHEMA}

    key: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text, nullable=False)
    changed_at: Mapped[dt.datetime] = _now_column()


class ImportRecord(Base):
    """One run of `gisdb import` (dry runs included): what, who, when, and the report."""

    __tablename__ = "imports"
    __table_args__ = {"schema": META_SCHEMA}

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    started_at: Mapped[dt.datetime] = _now_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    layer_id: Mapped[str] = mapped_column(sa.Text)
    file_name: Mapped[str] = mapped_column(sa.Text)
    file_sha256: Mapped[str] = mapped_column(sa.Text)
    mode: Mapped[str] = mapped_column(sa.Text)
    dry_run: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    user_name: Mapped[str | None] = mapped_column(sa.Text)
    host: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text)          # running | done | failed
    rows_read: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    rows_loaded: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    rows_rejected: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    rows_repaired: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    message: Mapped[str | None] = mapped_column(sa.Text)
    report: Mapped[dict | None] = mapped_column(JSONB)


class AuditEntry(Base):
    """One write operation (API edit, transaction group, `gisdb edit`): who, when, from
    where, what. Written in the transaction of the change, so a rolled-back write leaves
    none; imports are logged in `imports` and joined to this in the one audit trail."""

    __tablename__ = "audit"
    __table_args__ = (sa.Index("audit_at", "at"), sa.Index("audit_layer_at", "layer", "at"),
                      {"schema": META_SCHEMA})

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    at: Mapped[dt.datetime] = _now_column()
    actor: Mapped[str] = mapped_column(sa.Text)
    source: Mapped[str] = mapped_column(sa.Text)              # api | cli | import
    action: Mapped[str] = mapped_column(sa.Text)              # create | replace | update | delete
    layer: Mapped[str] = mapped_column(sa.Text)
    feature_ids: Mapped[list[int]] = mapped_column(sa.ARRAY(sa.BigInteger))
    n_features: Mapped[int] = mapped_column(sa.Integer)
    comment: Mapped[str | None] = mapped_column(sa.Text)
    request_id: Mapped[str | None] = mapped_column(sa.Text)
    import_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    remote_addr: Mapped[str | None] = mapped_column(sa.Text)


class RasterEntry(Base):
    """A GeoTIFF registered with `gisdb raster add`, stored as a COG under data/rasters."""

    __tablename__ = "rasters"
    __table_args__ = {"schema": META_SCHEMA}

    name: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    title: Mapped[str | None] = mapped_column(sa.Text)
    path: Mapped[str] = mapped_column(sa.Text)            # relative to the raster dir
    crs: Mapped[str] = mapped_column(sa.Text)
    width: Mapped[int] = mapped_column(sa.Integer)
    height: Mapped[int] = mapped_column(sa.Integer)
    band_count: Mapped[int] = mapped_column(sa.SmallInteger)
    dtype: Mapped[str] = mapped_column(sa.Text)
    nodata: Mapped[float | None] = mapped_column(sa.Float)
    stats: Mapped[dict | None] = mapped_column(JSONB)     # per band min/max/mean
    kind: Mapped[str] = mapped_column(sa.Text, server_default="generic")  # elevation | image | generic
    file_sha256: Mapped[str] = mapped_column(sa.Text)
    added_at: Mapped[dt.datetime] = _now_column()
    bounds: Mapped[WKBElement] = mapped_column(Geometry("POLYGON", srid=STORAGE_SRID, spatial_index=True))
