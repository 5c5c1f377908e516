"""Which columns of a tracked table history compares and restores."""
from __future__ import annotations

import sqlalchemy as sa

# Bookkeeping, not data: a change of these alone is not reported as a changed field.
BOOKKEEPING = ("updated_at",)


def key_column(table: sa.Table) -> sa.Column:
    """The tracked table's one-column primary key (the feature id)."""
    (key,) = table.primary_key.columns
    return key


def writable_columns(table: sa.Table) -> list[sa.Column]:
    """Columns a revert writes back: all but generated ones (geom_3857)."""
    return [c for c in table.columns if c.computed is None]


def compared_columns(table: sa.Table) -> list[str]:
    """Fields whose change is reported: the data columns (not the key, generated or
    bookkeeping columns)."""
    key = key_column(table).name
    return [c.name for c in writable_columns(table) if c.name != key and c.name not in BOOKKEEPING]


def natural_key(table: sa.Table) -> list[str]:
    """The columns of the table's natural key (its `*_natural_key` unique constraint)."""
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint) and (constraint.name or "").endswith("natural_key"):
            return [c.name for c in constraint.columns]
    return []


def geometry_column(table: sa.Table) -> str | None:
    """The stored geometry column (`geom`), if the table has one."""
    return "geom" if "geom" in table.c else None
