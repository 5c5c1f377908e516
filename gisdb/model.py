"""Declarative base and the column/constraint helpers every layer table uses.

Every spatial table stores its geometry in EPSG:4326 (`geom`, what the feature API
serves) and a stored, generated Web-Mercator copy (`geom_3857`) with its own GiST
index, so tiles never transform per row at request time.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from geoalchemy2 import Geometry, WKBElement
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

STORAGE_SRID = 4326
TILE_SRID = 3857
METRIC_SRID = 5899          # VN-2000 / TM-3 107-45, Da Nang's grid: lengths and areas in metres
META_SCHEMA = "meta"


class Base(DeclarativeBase):
    """Base of every mapped table."""


def geom_column(geometry_type: str, *, nullable: bool = False) -> Mapped[WKBElement]:
    """The feature geometry, in EPSG:4326, typed and indexed."""
    return mapped_column(Geometry(geometry_type, srid=STORAGE_SRID, spatial_index=True),
                         nullable=nullable)


def mercator_column(geometry_type: str) -> Mapped[WKBElement]:
    """Generated EPSG:3857 copy of `geom` for tile queries (indexed)."""
    return mapped_column(Geometry(geometry_type, srid=TILE_SRID, spatial_index=True),
                         sa.Computed(f"ST_Transform(geom, {TILE_SRID})", persisted=True))


def id_column() -> Mapped[int]:
    return mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)


def updated_column() -> Mapped[dt.datetime]:
    return mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now(),
                         onupdate=sa.func.now(), nullable=False)


def layer_constraints(table: str, natural_key: tuple[str, ...], *extra) -> tuple:
    """Table args shared by spatial layers: natural key unique, geometry valid and not
    empty (type and SRID are enforced by the typed geometry column itself)."""
    return (
        sa.UniqueConstraint(*natural_key, name=f"{table}_natural_key"),
        sa.CheckConstraint("ST_IsValid(geom)", name=f"{table}_geom_valid"),
        sa.CheckConstraint("NOT ST_IsEmpty(geom)", name=f"{table}_geom_not_empty"),
        *extra,
    )
