"""`/audit`: the one audit trail (API and command-line edits, and imports) for admins,
newest first, filtered by `actor`, `layer`, `source` (api, cli, import), `since` and
`until` (RFC 3339), in pages (`limit`, `offset`, a `next` link)."""
from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlencode

import sqlalchemy as sa

from gisdb.editing.audit import MAX_PAGE, TrailQuery, trail
from gisdb.engine import db_errors
from gisdb.errors import InvalidParameter
from layers.registry import get_layer

from .links import link, with_query
from .params import only_known
from .response import JSON, ApiResponse

PARAMS = ("actor", "layer", "source", "since", "until", "limit", "offset", "f")
SOURCES = ("api", "cli", "import")


def _instant(name: str, raw: str | None) -> dt.datetime | None:
    if raw is None:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter(f"{name}: not an RFC 3339 date-time: {raw[:40]!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _count(name: str, raw: str | None, default: int, high: int) -> int:
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 0 <= int(raw) <= high:
        raise InvalidParameter(f"{name} must be a whole number from 0 to {high}")
    return int(raw)


def trail_query(pairs: list[tuple[str, str]]) -> TrailQuery:
    """The filters of an `/audit` request (InvalidParameter for unknown or bad ones)."""
    given = only_known(pairs, PARAMS)
    if given.get("f", "json") != "json":
        raise InvalidParameter("f must be json")
    if given.get("source") is not None and given["source"] not in SOURCES:
        raise InvalidParameter(f"source must be one of {', '.join(SOURCES)}")
    if given.get("layer") is not None:
        get_layer(given["layer"])
    return TrailQuery(actor=given.get("actor"), layer=given.get("layer"), source=given.get("source"),
                      since=_instant("since", given.get("since")), until=_instant("until", given.get("until")),
                      limit=max(1, _count("limit", given.get("limit"), 100, MAX_PAGE)),
                      offset=_count("offset", given.get("offset"), 0, 10_000_000))


def audit_page(engine: sa.Engine, q: TrailQuery, pairs: list[tuple[str, str]], base: str) -> ApiResponse:
    """A page of the trail as JSON, with a `next` link while pages are full."""
    with db_errors(), engine.connect() as conn:
        entries = trail(conn, q)
    links = []
    if len(entries) == q.limit:
        query = urlencode([(k, v) for k, v in pairs if k != "offset"] + [("offset", q.offset + q.limit)])
        links.append(link(with_query(f"{base}/audit", query), "next", JSON, "next page"))
    doc = {"entries": entries, "numberReturned": len(entries), "links": links}
    return ApiResponse(media_type=JSON, body=json.dumps(doc, ensure_ascii=False, default=str).encode())
