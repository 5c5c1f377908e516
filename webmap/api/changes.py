"""`/collections/{layer}/changes` and `/changes`: pages of the change feed (layers.feed)
after a consumer's token, framework-free. A page is never cached (`never`): the same
token gives more changes later. See docs/change_feed.md for the token contract."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from gisdb.engine import db_errors
from gisdb.errors import InvalidParameter
from gisdb.feed import token as tokens
from gisdb.feed.log import Horizon, check_not_pruned, horizon
from gisdb.feed.token import START, Position
from layers.feed import feed_page
from layers.registry import get_layer, layer_ids, visible_layers

from .links import link, with_query
from .params import _int, only_known
from .response import JSON, ApiResponse

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
NOW = "now"


@dataclass(frozen=True)
class FeedQuery:
    """A consumer's request: which layers, from which token, how many changes."""

    layers: tuple[str, ...]
    since: str | None
    limit: int

    def query_string(self, since: str | None, with_layers: bool) -> str:
        """The query of a link to this feed from `since` (the same layers and limit)."""
        parts = [("layers", ",".join(self.layers))] if with_layers else []
        if since is not None:
            parts.append(("since", since))
        if self.limit != DEFAULT_LIMIT:
            parts.append(("limit", str(self.limit)))
        return "&".join(f"{k}={v}" for k, v in parts)


def readable_layers(layer_list: list[str]) -> list[str]:
    """The layers of `layer_list` this client may read: a layer hidden from the caller
    (webmap.authz, through the registry) is left out, as from /collections."""
    shown = {layer.id for layer in visible_layers()}
    return [layer_id for layer_id in layer_list if layer_id in shown]


def parse_layers(raw: str | None) -> list[str]:
    """A comma-separated list of layer ids (all layers when absent); an unknown id is a
    400 that names it."""
    if raw is None or not raw.strip():
        return layer_ids()
    wanted = []
    for part in raw.split(","):
        name = part.strip()
        try:
            get_layer(name)
        except LookupError:
            raise InvalidParameter(f"layers: no layer named {name[:40]!r}") from None
        if name not in wanted:
            wanted.append(name)
    return wanted


def parse_feed_query(pairs: list[tuple[str, str]], layer_list: list[str] | None) -> FeedQuery:
    """The query of a feed request; `layer_list` is the path's layer (else `layers=`)."""
    allowed = ("since", "limit", "f") + (() if layer_list else ("layers",))
    given = only_known(pairs, allowed)
    if given.get("f", "json") != "json":
        raise InvalidParameter("f: the change feed is JSON only (f=json)")
    layers = layer_list or parse_layers(given.get("layers"))
    limit = _int("limit", given.get("limit", str(DEFAULT_LIMIT)), 1, MAX_LIMIT)
    return FeedQuery(layers=tuple(readable_layers(layers)), since=given.get("since"), limit=limit)


def start_position(since: str | None, h: Horizon) -> Position:
    """Where a request starts: its token's position, the tip for `now`, the oldest
    change kept when absent. A token older than the retention cut is TokenExpired."""
    if since == NOW:
        return h.tip
    if since is None:
        return check_not_pruned(START, False, h)
    return check_not_pruned(tokens.decode(since, h.epoch), True, h)


def read_page(conn: sa.Connection, q: FeedQuery, position: Position | None = None):
    """(page, horizon) of the feed for `q`, from `position` or from its token."""
    h = horizon(conn)
    start = start_position(q.since, h) if position is None else position
    return feed_page(conn, start, list(q.layers), q.limit), h


def changes_document(engine: sa.Engine, layer_list: list[str] | None,
                     pairs: list[tuple[str, str]], *, base: str) -> ApiResponse:
    """A page of changes, the token after it (`next`) and links (self, next)."""
    if layer_list:
        get_layer(layer_list[0])                        # 404 for an unknown layer
    q = parse_feed_query(pairs, layer_list)
    with db_errors(), engine.connect() as conn:
        page, h = read_page(conn, q)
    url = (f"{base}/collections/{layer_list[0]}/changes" if layer_list else f"{base}/changes")
    nxt = tokens.encode(page.next, h.epoch)
    links = [link(with_query(url, q.query_string(q.since, not layer_list)), "self", JSON, "this page"),
             link(with_query(url, q.query_string(nxt, not layer_list)), "next", JSON,
                  "the changes after this page (follow it until `more` is false, then poll)")]
    doc = {"changes": page.changes, "next": nxt, "more": page.more,
           "numberReturned": len(page.changes), "links": links}
    return ApiResponse(media_type=JSON, document=doc)
