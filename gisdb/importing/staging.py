"""Staging: the file's rows as they are, in a TEMP table of the import's own session.

Rows go in with binary COPY (the fastest path PostgreSQL offers), one Arrow batch at a
time. A TEMP table vanishes with its session, so a killed import leaves nothing behind.
Source fields become columns `f0, f1, ...` typed after the file's own types, so no
user-supplied name is ever spelled in SQL."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import pyarrow as pa
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.dialects import postgresql as pg

STAGE_TABLE = "gisdb_import_stage"


@dataclass(frozen=True)
class StageColumn:
    name: str                        # f0, f1, ...
    pg_type: str                     # for COPY's binary dumpers
    sa_type: sa.types.TypeEngine


def _pg_type(dtype: pa.DataType) -> tuple[str, sa.types.TypeEngine]:
    if pa.types.is_boolean(dtype):
        return "bool", sa.Boolean()
    if pa.types.is_integer(dtype):
        return "int8", sa.BigInteger()
    if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "float8", sa.Float()
    if pa.types.is_date(dtype):
        return "date", sa.Date()
    if pa.types.is_timestamp(dtype):
        if dtype.tz:
            return "timestamptz", sa.DateTime(timezone=True)
        return "timestamp", sa.DateTime()
    if pa.types.is_time(dtype):
        return "time", sa.Time()
    if pa.types.is_binary(dtype) or pa.types.is_large_binary(dtype):
        return "bytea", pg.BYTEA()
    return "text", sa.Text()


def stage_columns(field_types: list[pa.DataType]) -> list[StageColumn]:
    out = []
    for i, dtype in enumerate(field_types):
        pg_name, sa_type = _pg_type(dtype)
        out.append(StageColumn(f"f{i}", pg_name, sa_type))
    return out


def stage_table(columns: list[StageColumn]) -> sa.Table:
    """The staging table as a SQLAlchemy Table (for building validation queries)."""
    metadata = sa.MetaData()
    return sa.Table(STAGE_TABLE, metadata,
                    sa.Column("_row", sa.Integer, primary_key=True, autoincrement=False),
                    sa.Column("_flag", sa.SmallInteger),
                    sa.Column("_wkb", pg.BYTEA),
                    *[sa.Column(c.name, c.sa_type) for c in columns],
                    prefixes=["TEMPORARY"], postgresql_on_commit="DROP")


def create_stage(conn: sa.Connection, table: sa.Table) -> None:
    table.create(conn)


def _coerce(values: list, pg_type: str) -> list:
    """Arrow may hand back types the binary dumper would refuse (e.g. text in a column
    declared as numbers by a lenient driver); turn those into NULL-safe values."""
    if pg_type == "text":
        return [v if v is None or isinstance(v, str) else str(v) for v in values]
    return values


def copy_chunk(conn: sa.Connection, columns: list[StageColumn], start: int, wkb: list,
               flags: list, values: list[list]) -> int:
    """COPY one batch into the staging table (binary format). Returns rows written."""
    raw = conn.connection.driver_connection
    names = ["_row", "_flag", "_wkb", *[c.name for c in columns]]
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(STAGE_TABLE), sql.SQL(", ").join(map(sql.Identifier, names)))
    data = [_coerce(v, c.pg_type) for v, c in zip(values, columns)]
    rows: Iterable = zip(range(start + 1, start + 1 + len(wkb)), flags, wkb, *data)
    with raw.cursor() as cur, cur.copy(statement) as copy:
        copy.set_types(["int4", "int2", "bytea", *[c.pg_type for c in columns]])
        for row in rows:
            copy.write_row(row)
    return len(wkb)

