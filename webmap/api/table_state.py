"""A layer table's data version and size in one round trip: the version makes the
ETag; the size decides between an exact count and none (a full COUNT on every page
of a huge table is what hurts pygeoapi users, #1969)."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gisdb.versions import version_of
from layers.layer import Layer

EXACT_COUNT_ROWS = 100_000
EXACT_COUNT_BYTES_UNANALYSED = 64 * 1024 * 1024

_TABLE = sa.bindparam("t", type_=sa.Text)
_CLASS = sa.table("pg_class", sa.column("oid"), sa.column("reltuples"), schema="pg_catalog").alias("c")
_STATE = (sa.select(version_of(_TABLE).label("version"), _CLASS.c.reltuples.label("reltuples"),
                    sa.func.pg_relation_size(_CLASS.c.oid).label("bytes"))
          .where(_CLASS.c.oid == sa.func.to_regclass(_TABLE)))


@dataclass(frozen=True)
class TableState:
    version: int
    reltuples: float
    bytes: int

    @property
    def small(self) -> bool:
        """Small enough for an exact count on each page."""
        if self.reltuples < 0:      # never analysed: judge by size on disk
            return self.bytes < EXACT_COUNT_BYTES_UNANALYSED
        return self.reltuples < EXACT_COUNT_ROWS


def table_state(conn: Connection, layer: Layer) -> TableState:
    row = conn.execute(_STATE, {"t": layer.table_name}).one()
    return TableState(int(row.version or 0), float(row.reltuples), int(row.bytes))
