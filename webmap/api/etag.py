"""ETags from a layer's data version and the normalised request, so a client's cached
copy stays valid exactly until the layer's data changes."""
from __future__ import annotations

import hashlib

CACHE_CONTROL = "public, no-cache"     # may be stored; revalidate with If-None-Match


def make_etag(*parts) -> str:
    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=12)
    return 'W/"' + digest.hexdigest() + '"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """True when the client's If-None-Match names this ETag (weak comparison)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in if_none_match.split(","))
