"""WAL positions (PostgreSQL's `pg_lsn`), as integers inside and as PostgreSQL writes
them (`16/B374D848`) outside: in the `Gisdb-Lsn` header and the `gisdb_lsn` cookie."""
from __future__ import annotations

import re

from gisdb.errors import InvalidParameter

_LSN = re.compile(r"([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})")

# A position as a bigint in SQL: `pg_lsn - pg_lsn` is numeric, exact for any position.
AS_BIGINT = "(({}) - '0/0'::pg_lsn)::bigint"


def parse_lsn(text: str) -> int:
    """The position written as `text` ("16/B374D848"); InvalidParameter (400) otherwise."""
    found = _LSN.fullmatch(text.strip())
    if found is None:
        raise InvalidParameter("Gisdb-Lsn must be a WAL position such as 0/16B3748 "
                               "(the value a write's answer carried)")
    return (int(found.group(1), 16) << 32) | int(found.group(2), 16)


def format_lsn(position: int) -> str:
    """`position` as PostgreSQL writes a pg_lsn."""
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"
