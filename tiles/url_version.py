"""CDN-safe tile URLs: the data version a tile URL carries.

A versioned tile URL names the data it shows, so a CDN or a browser may keep it forever
(`immutable`) and an edit simply changes the URL:

    /tiles/v{version}/{l1,l2,...}/{z}/{x}/{y}.mvt            (and .png, @2x.png)
    /collections/{layer}/tiles/{tms}/v{version}/{z}/{y}/{x}
    /collections/{layer}/map/tiles/{tms}/v{version}/{z}/{y}/{x}.png

The version is the newest data version among the URL's layers (`meta.layer_versions`,
one global sequence): any change to any of those layers gives a larger number, so it
names their state and grows with it. It is a path segment, not a query parameter, since
some CDNs leave the query out of their cache key by default. A request naming another
version than the current one is redirected to the current one (`location`): the old URL
never gets the new content, and a client holding an old TileJSON keeps drawing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import quote

from sqlalchemy.engine import Connection

from gisdb.errors import InvalidParameter
from gisdb.versions import table_versions

_VERSION = re.compile(r"[0-9]{1,18}")


def newest_version(versions: Iterable[int]) -> int:
    """The version a URL carries for layers at these data versions (0 with none)."""
    return max(versions, default=0)


def url_version(conn: Connection, layers) -> int:
    """The version a URL of these layers carries now."""
    return newest_version(table_versions(conn, [layer.table_name for layer in layers]).values())


def layer_url_versions(conn: Connection, layers) -> dict[str, int]:
    """Each layer's own URL version (layer id -> version), in one query."""
    versions = table_versions(conn, [layer.table_name for layer in layers])
    return {layer.id: versions.get(layer.table_name, 0) for layer in layers}


def parse_version(text: str) -> int:
    """The digits after a URL's `v` (`v123` -> 123); anything else is a 400."""
    if not _VERSION.fullmatch(text or ""):
        raise InvalidParameter("a tile URL's version is 'v' and digits, e.g. v1234")
    return int(text)


@dataclass(frozen=True)
class UrlVersion:
    """The version a tile request named, what its path holds after that segment, and its
    query string: enough to say where the current version of the same tile is."""

    version: int
    rest: tuple[str, ...]
    query: str = ""

    def location(self, current: int) -> str:
        """The same tile at version `current`, relative to the request's own URL (so a
        prefix a proxy adds, or GISDB_PUBLIC_URL's path, is kept)."""
        path = "../" * len(self.rest) + f"v{current}/" + "/".join(
            quote(part, safe=",@") for part in self.rest)
        return path + ("?" + self.query if self.query else "")
