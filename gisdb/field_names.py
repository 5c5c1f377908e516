"""Shapefile field names: a DBF holds at most 10 characters per name, so exports shorten
them and imports must recognise the shortened names. One function does both sides, so
`gisdb export parcels out.shp` then `gisdb import parcels out.shp` needs no `--map`."""
from __future__ import annotations

SHAPEFILE_FIELD_LIMIT = 10


def short_field_names(names: list[str], limit: int = SHAPEFILE_FIELD_LIMIT) -> dict[str, str]:
    """Unique names of at most `limit` characters (DBF), case-insensitively unique;
    maps every original name to the name written. Deterministic in the order of `names`."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        candidate = name[:limit]
        serial = 1
        while candidate.lower() in taken:
            suffix = f"_{serial}"
            candidate = name[:limit - len(suffix)] + suffix
            serial += 1
        taken.add(candidate.lower())
        out[name] = candidate
    return out


def long_names(names: list[str], limit: int = SHAPEFILE_FIELD_LIMIT) -> dict[str, str]:
    """The reverse: each shortened name (lower case) -> the original, for the names that
    `short_field_names` had to shorten."""
    return {short.lower(): name for name, short in short_field_names(names, limit).items() if short != name}
