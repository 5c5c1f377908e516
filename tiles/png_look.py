"""How one layer's PNG tile is drawn when the map asks for more than its default
cartography: a thematic colouring (`layers.themes`, by id) and a CQL2 filter, the same
`filter`, `filter-lang` and `filter-crs` the features and the vector tiles take
(`layers.filter_rules`: allow-listed queryables, bounded size).

Mapnik's `postgis` datasource cannot bind parameters, and no request text may reach SQL
unbound, so a filtered tile is drawn in two steps: the ids of the features in the tile
(with Mapnik's buffer) that meet the filter, by a statement with bound parameters; then
Mapnik's subquery draws those ids, written as integer constants that came from the
database. The filter is parsed when the request arrives, so a bad one is a 400 before
anything is drawn or cached.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gisdb.errors import InvalidParameter
from gisdb.temporal import AsOf
from layers.filter_rules import cql2_clause
from layers.layer import Layer
from layers.themes import Theme, get_theme
from layers.time_travel import travel

from .grid import TILE_SIZE, Tile
from .mapnik_style import BUFFER_PX

MAX_IDS = 200_000          # more features than any tile holds: a filter that keeps them all


@dataclass(frozen=True)
class Look:
    """A tile's theme id and filter (text, language, CRS of its geometry literals)."""

    theme: str | None = None
    filter_text: str | None = None
    filter_lang: str | None = None
    filter_crs: str | None = None

    @property
    def filtered(self) -> bool:
        return bool(self.filter_text and self.filter_text.strip())

    def key(self) -> tuple:
        """What the tile cache keys on."""
        return ("look", self.theme or "", self.filter_text or "", self.filter_lang or "",
                self.filter_crs or "")


PLAIN = Look()


def check_look(layer_ids: tuple[str, ...], look: Look, layer: Layer) -> Theme | None:
    """The theme of a one-layer tile (parsing the filter now so a bad one is a 400)."""
    if look == PLAIN:
        return None
    if len(layer_ids) != 1:
        raise InvalidParameter("theme and filter apply to one layer per tile, e.g. "
                               "/tiles/buildings/16/52250/30420.png?theme=floors")
    if look.filtered:
        cql2_clause(layer, look.filter_text, look.filter_lang, look.filter_crs)
    return get_theme(layer, look.theme)


def matching_ids(conn: Connection, layer: Layer, look: Look, tile: Tile,
                 as_of: AsOf | None = None) -> tuple[int, ...]:
    """Ids of the features meeting the filter in the tile and Mapnik's buffer around it
    (bound parameters only; as of an instant when given)."""
    minx, miny, maxx, maxy = tile.bounds()
    pad = (maxx - minx) * BUFFER_PX / TILE_SIZE
    box = sa.func.ST_MakeEnvelope(minx - pad, miny - pad, maxx + pad, maxy + pad, tile.tms.srid)
    key = layer.table.c[layer.id_column]
    stmt = (sa.select(key).where(layer.table.c[tile.tms.geometry_column].op("&&")(box),
                                 cql2_clause(layer, look.filter_text, look.filter_lang,
                                             look.filter_crs))
            .limit(MAX_IDS))
    if as_of is not None:
        stmt = travel(stmt, as_of.at)
    return tuple(int(i) for i in conn.execute(stmt).scalars())
