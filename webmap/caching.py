"""The caching policy of the service, in one place: the Cache-Control of each kind of
answer, the one form of ETag, and the one `If-None-Match` matcher. Framework-free, so
the OGC API core, the views and the WSGI tile fast path all read the same table.

Cores (`webmap.api`, `tiles`, the query and map views) compute a *tag*: a short hex
digest of what an answer shows (its layers' data versions, the normalised request). The
web layer alone writes it as an ETag header and decides a 304. ETags are weak (`W/"..."`)
everywhere: they name what an answer means, not its bytes (the same tile goes out
gzipped or not), and RFC 9110 compares If-None-Match weakly anyway; except a single
feature's, strong and carrying its row version, for the If-Match of a write.
"""
from __future__ import annotations

import hashlib

YEAR = 365 * 24 * 3600

CACHE_CONTROL = {
    # data that follows the layers' versions: stored, revalidated on every use
    "data": "public, no-cache",                       # features, queries, PNG tiles
    "vector_tile": "public, max-age=0, must-revalidate",
    "listing": "no-cache",                            # /collections, /rasters
    "static": "no-cache",                             # the map's own scripts and styles
    # rarely changing documents: a short lifetime, no revalidation needed
    "raster_tile": "public, max-age=60",              # rasters change only when re-added
    "landing": "public, max-age=60",
    "map_page": "public, max-age=60, must-revalidate",
    "document": "public, max-age=300",                # conformance, OpenAPI, queryables
    "vendor": "public, max-age=86400",                # front-end files without ?v=
    "vendor_versioned": f"public, max-age={YEAR}, immutable",
    "private": "private, no-cache",                    # answers to a credential
    # the database as it was at a settled past instant (`as_of`): it never changes
    "as_of": f"public, max-age={YEAR}, immutable",
    # a tile at the data version its URL names (tiles.url_version): it never changes either
    "versioned_tile": f"public, max-age={YEAR}, immutable",
    # never stored
    "never": "no-store",                              # errors, health
}

# The one ETag form. A str method, not a Python function: no extra frame per tile.
etag_header = 'W/"{}"'.format


def versioned_tag(version: str, tag: str) -> str:
    """The tag of one feature at one row version: the ETag a client sends back in
    If-Match (gisdb.editing.versions reads the version before the dot). Strong
    (`"..."`), since If-Match compares strongly; what it shows is that version only."""
    return f"{version}.{tag}"


versioned_etag_header = '"{}"'.format


def make_tag(*parts) -> str:
    """A tag (hex) of what an answer shows, from its parts (ids, versions, query)."""
    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=12)
    return digest.hexdigest()


def matches(if_none_match: str | None, tag: str) -> bool:
    """True when an `If-None-Match` header names `tag` or is `*` (weak comparison:
    `W/"t"` and `"t"` both match)."""
    if not if_none_match:
        return False
    quoted = '"' + tag + '"'
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == quoted:
            return True
    return False


def as_of_version(as_of, version):
    """What stands for the data version in the tag of an `as_of` answer: the instant
    alone when it is settled (the answer never changes), else the instant and the
    current version (a transaction still open may yet write history before it)."""
    if as_of is None:
        return version
    return ("as_of", as_of.text) if as_of.settled() else ("as_of", as_of.text, version)


def as_of_cache(as_of) -> str | None:
    """The cache policy of an `as_of` answer (None: the view's own)."""
    return "as_of" if as_of is not None and as_of.settled() else None
