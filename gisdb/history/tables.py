"""The history schema's tables: one version table per tracked table
(`history."<schema>__<table>"`: the tracked table's columns, unconstrained, plus the
`hist_*` columns) and the change log `history.changes` (one row per changed row)."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from gisdb.model import Base

HISTORY_SCHEMA = "history"


class XID8(sa.types.UserDefinedType):
    """PostgreSQL's 64-bit transaction id (`xid8`), read as text."""

    cache_ok = True

    def get_col_spec(self, **kw) -> str:
        """The type's name in DDL."""
        return "xid8"


class Change(Base):
    """One changed row of a tracked table: which feature, what, when, who, from where."""

    __tablename__ = "changes"
    __table_args__ = {"schema": HISTORY_SCHEMA}

    change_id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(always=True), primary_key=True)
    xid: Mapped[str] = mapped_column(XID8, server_default=sa.text("pg_current_xact_id()"), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now(),
                                            nullable=False)
    layer: Mapped[str] = mapped_column(sa.Text, nullable=False)
    feature_id: Mapped[str] = mapped_column(sa.Text, nullable=False)
    op: Mapped[str] = mapped_column(sa.CHAR(1), nullable=False)
    actor: Mapped[str | None] = mapped_column(sa.Text)
    source: Mapped[str | None] = mapped_column(sa.Text)
    import_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    request_id: Mapped[str | None] = mapped_column(sa.Text)


CHANGES = Change.__table__
HIST_COLUMNS = ("hist_from", "hist_to", "hist_op", "hist_actor", "hist_source", "hist_import_id",
                "hist_request_id", "hist_comment", "hist_xid", "hist_change_id")


def history_table_name(table: sa.Table) -> str:
    """The version table's name in the history schema: `<schema>__<table>`."""
    return f"{table.schema}__{table.name}"


def _hist_columns() -> list[sa.Column]:
    return [sa.Column("hist_from", TIMESTAMP(timezone=True), nullable=False),
            sa.Column("hist_to", TIMESTAMP(timezone=True)),
            sa.Column("hist_op", sa.CHAR(1)),
            sa.Column("hist_actor", sa.Text),
            sa.Column("hist_source", sa.Text),
            sa.Column("hist_import_id", sa.BigInteger),
            sa.Column("hist_request_id", sa.Text),
            sa.Column("hist_comment", sa.Text),
            sa.Column("hist_xid", XID8),
            sa.Column("hist_change_id", sa.BigInteger)]


_METADATA = sa.MetaData()


@lru_cache(maxsize=None)
def history_table(table: sa.Table) -> sa.Table:
    """The version table of a tracked table, as a Core table for queries (its DDL is
    `triggers.install_history`'s): the same column names and types, then `hist_*`."""
    columns = [sa.Column(c.name, c.type) for c in table.columns]
    return sa.Table(history_table_name(table), _METADATA, *columns, *_hist_columns(),
                    schema=HISTORY_SCHEMA)
