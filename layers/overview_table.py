"""The tiles' overviews: generalised copies of the layers drawn at low zooms, one row
per (layer, zoom band, feature), stored so that a z8-z12 tile reads a few thousand
pre-simplified rows through a spatial index instead of simplifying a city per request.

`overviews.features` is partitioned by layer, then by band: each (layer, zoom) has its
own partition and GiST index, so a tile's scan of one layer at one zoom reads no other
layer's or zoom's rows (a layer added later lands in the default partition until a
migration gives it its own);
`overviews.state` says which data version of its layer each set of overviews was built
from. They are derived data: built by `tiles.overviews`, never edited, kept out of
history, the change feed and the data versions (a tile follows its source layer's
version; a stale overview is never read, see tiles.mvt)."""
from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from geoalchemy2 import Geometry, WKBElement
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gisdb.model import TILE_SRID, Base

SCHEMA = "overviews"
BANDS = tuple(range(8, 13))         # WebMercatorQuad zooms with stored overviews


def has_overviews(layer) -> bool:
    """Lines and polygons shown at a band's zoom have overviews (points are clustered per
    request)."""
    return (layer.geometry_type.lower() not in ("point", "multipoint")
            and layer.min_zoom <= BANDS[-1] and layer.max_zoom >= BANDS[0])


class OverviewFeature(Base):
    """A feature of a layer as drawn at one zoom band: simplified and snapped to the
    band's pixel grid, with the attributes its tiles carry (`props`)."""

    __tablename__ = "features"
    __table_args__ = {"schema": SCHEMA, "postgresql_partition_by": "LIST (layer)"}

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


def install_overviews(conn: sa.Connection, layer_ids) -> None:
    """Create the schema, a partition per layer of `layer_ids` and band (and a default
    one), and their indexes (the parent's GiST index, cascaded)."""
    conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS " + SCHEMA)
    Base.metadata.create_all(conn, tables=[OverviewFeature.__table__, OverviewState.__table__])
    prep = conn.dialect.identifier_preparer
    parent = SCHEMA + ".features"
    conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS " + SCHEMA + ".features_other PARTITION OF "
                         + parent + " DEFAULT")
    for layer_id in layer_ids:
        table = SCHEMA + "." + prep.quote_identifier("features_" + layer_id)
        if not re.fullmatch(r"[a-z][a-z0-9_]*", layer_id):     # a registry id: snake_case
            raise ValueError(f"not a layer id: {layer_id!r}")
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS " + table + " PARTITION OF " + parent
                             + " FOR VALUES IN ('" + layer_id + "') PARTITION BY LIST (band)")
        for band in BANDS:
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS " + SCHEMA + "."
                                 + prep.quote_identifier(f"features_{layer_id}_z{band:d}")
                                 + " PARTITION OF " + table + f" FOR VALUES IN ({band:d})")


def remove_overviews(conn: sa.Connection) -> None:
    conn.exec_driver_sql("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE")
