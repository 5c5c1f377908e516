"""Pages of the change feed with their features: each change of the log (gisdb.feed.log)
with the GeoJSON of the version it made (insert, update), or of the feature's last
version (delete), read from the layer's version table in one statement per layer.

Shared by the web (`/collections/{layer}/changes`, `/changes`, the SSE stream) and
the webhook worker, so every consumer sees the same document for a change."""
from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gisdb.crs import DEFAULT as CRS84
from gisdb.feed.log import ChangeRow, changes_after
from gisdb.feed.token import Position
from gisdb.history.tables import history_table

from .registry import get_layer

OPS = {"I": "insert", "U": "update", "D": "delete"}


@dataclass(frozen=True)
class FeedPage:
    """Changes after a position, the position after them, and whether more follow."""

    changes: list[dict]
    positions: list[Position]
    next: Position
    more: bool


@lru_cache(maxsize=None)
def _versions_statement(layer_id: str) -> sa.Select:
    """(change_id, feature text) for the bound arrays `cids` / `fids`: the latest version
    of each feature made by that change or before it (a delete made none: its last)."""
    layer = get_layer(layer_id)
    h = history_table(layer.table)
    key = h.c[layer.id_column]
    wanted = sa.func.unnest(sa.bindparam("cids", type_=sa.ARRAY(sa.BigInteger)),
                            sa.bindparam("fids", type_=sa.ARRAY(sa.BigInteger))).table_valued(
        sa.column("change_id", sa.BigInteger), sa.column("fid", sa.BigInteger)).render_derived("c")
    made = sa.func.coalesce(h.c.hist_change_id, 0)
    version = (sa.select(key.label("id"), *[h.c[f.name] for f in layer.fields], h.c.geom)
               .where(key == wanted.c.fid, made <= wanted.c.change_id)
               .order_by(made.desc(), h.c.hist_from.desc()).limit(1).lateral("v"))
    feature = (sa.literal('{"type": "Feature", "id": ', sa.Text)
               .concat(sa.cast(version.c.id, sa.Text))
               .concat(sa.func.substr(sa.func.ST_AsGeoJSON(version.table_valued(), "geom",
                                                            CRS84.decimals), 19)))
    return (sa.select(wanted.c.change_id, feature)
            .select_from(wanted.join(version, sa.true(), isouter=True)))


def features_of(conn: Connection, rows: list[ChangeRow]) -> dict[int, dict | None]:
    """change id -> GeoJSON Feature of each change (None when no version is found)."""
    by_layer: dict[str, list[ChangeRow]] = defaultdict(list)
    for row in rows:
        if row.feature_id.isdigit():
            by_layer[row.layer].append(row)
    found: dict[int, dict | None] = {}
    for layer_id, group in by_layer.items():
        values = {"cids": [r.position.change_id for r in group],
                  "fids": [int(r.feature_id) for r in group]}
        for change_id, text in conn.execute(_versions_statement(layer_id), values):
            found[change_id] = json.loads(text) if text else None
    return found


def change_document(row: ChangeRow, feature: dict | None) -> dict:
    """One change as consumers receive it."""
    fid = int(row.feature_id) if row.feature_id.isdigit() else row.feature_id
    return {"change": row.position.change_id, "layer": row.layer, "op": OPS.get(row.op, row.op),
            "id": fid, "at": row.at.astimezone(dt.timezone.utc).isoformat(), "actor": row.actor, "source": row.source,
            "feature": feature}


def feed_page(conn: Connection, position: Position, layer_ids: list[str], limit: int) -> FeedPage:
    """Up to `limit` committed changes of the layers after `position`, in commit order."""
    rows = changes_after(conn, position, layer_ids, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    features = features_of(conn, rows)
    docs = [change_document(r, features.get(r.position.change_id)) for r in rows]
    return FeedPage(changes=docs, positions=[r.position for r in rows],
                    next=rows[-1].position if rows else position, more=more)
