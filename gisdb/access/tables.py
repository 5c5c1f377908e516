"""Tables of who may do what (schema `meta`): users, API keys, grants, hidden layers."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gisdb.model import META_SCHEMA, Base


def _now() -> Mapped[dt.datetime]:
    return mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


class User(Base):
    """A person or system that holds API keys (`gisdb users add`)."""

    __tablename__ = "users"
    __table_args__ = {"schema": META_SCHEMA}

    name: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    created_at: Mapped[dt.datetime] = _now()


class ApiKey(Base):
    """An API key: only its lookup prefix and a salted SHA-256 of the whole key are kept."""

    __tablename__ = "api_keys"
    __table_args__ = {"schema": META_SCHEMA}

    name: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    user_name: Mapped[str] = mapped_column(
        sa.Text, sa.ForeignKey(f"{META_SCHEMA}.users.name", ondelete="CASCADE"), nullable=False)
    prefix: Mapped[str] = mapped_column(sa.Text, unique=True, nullable=False)
    salt: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)
    digest: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)
    created_at: Mapped[dt.datetime] = _now()
    expires_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))


class Grant(Base):
    """A role for a grantee on a target: a user name, `oidc-group:NAME` or
    `oidc-sub:SUBJECT`; a layer id, a group of layers (`land`, ...) or `*`."""

    __tablename__ = "grants"
    __table_args__ = (
        sa.CheckConstraint("role IN ('read', 'edit', 'admin')", name="grants_role"),
        {"schema": META_SCHEMA},
    )

    grantee: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    target: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    role: Mapped[str] = mapped_column(sa.Text, nullable=False)
    granted_at: Mapped[dt.datetime] = _now()


class HiddenLayer(Base):
    """A layer anonymous readers do not see (`gisdb layers hide`); its data version
    (meta.layer_versions, `meta.hidden_layers`) tells every app node to reload."""

    __tablename__ = "hidden_layers"
    __table_args__ = {"schema": META_SCHEMA}

    layer_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    hidden_at: Mapped[dt.datetime] = _now()


ACCESS_TABLES = (User.__table__, ApiKey.__table__, Grant.__table__, HiddenLayer.__table__)
