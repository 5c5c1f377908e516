"""The tiles' overviews: generalised copies of the layers drawn at low zooms, one row
per (layer, zoom band, feature), stored so that a z8-z12 tile reads a few thousand
pre-simplified rows through a spatial index instead of simplifying a city per request.

`overviews.features` is partitioned by band (one partition and GiST index per zoom);
`overviews.state` says which data version of its layer each set of overviews was built
from. They are derived data: built by `tiles.overviews`, never edited, kept out of
history, the change feed and the data versions (a tile follows its source layer's
version; a stale overview is never read, see tiles.mvt)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from geoalchemy2 import Geometry, WKBElement
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gisdb.model import TILE_SRID, Base

SCHEMA = "overviews"
BANDS = tuple(range(8, 13))         # WebMercatorQuad zooms with stored overviews


class OverviewFeature(Base):
    """A feature of a layer as drawn at one zoom band: simplified and snapped to the
    band's pixel grid, with the attributes its tiles carry (`props`)."""

    __tablename__ = "features"
    __table_args__ = {"schema": SCHEMA, "postgresql_partition_by": "LIST (band)"}

    band: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    layer: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    size: Mapped[float] = mapped_column(sa.Float)        # bounding-box side, EPSG:3857 metres
    props: Mapped[dict] = mapped_column(JSONB)
    geom: Mapped[WKBElement] = mapped_column(Geometry("GEOMETRY", srid=TILE_SRID, spatial_index=True))


class OverviewState(Base):
    """The data version of `layer` its overviews were last built from."""

    __tablename__ = "state"
    __table_args__ = {"schema": SCHEMA}

    layer: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    version: Mapped[int] = mapped_column(sa.BigInteger)
    features: Mapped[int] = mapped_column(sa.Integer)
    seconds: Mapped[float] = mapped_column(sa.Float)
    refreshed_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))


def install_overviews(conn: sa.Connection) -> None:
    """Create the schema, the band partitions and their indexes."""
    conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS " + SCHEMA)
    Base.metadata.create_all(conn, tables=[OverviewFeature.__table__, OverviewState.__table__])
    for band in BANDS:
        conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.features_z{band:d} "
                             f"PARTITION OF {SCHEMA}.features FOR VALUES IN ({band:d})")


def remove_overviews(conn: sa.Connection) -> None:
    conn.exec_driver_sql("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE")
