"""TileJSON 3.0.0 documents of single layers and composites (the OGC API - Tiles
tileset documents are in `tiles.tilesets`).

URL contracts (all relative to the service root `base`):
- composite XYZ tiles      {base}/tiles/{l1,l2,...}/{z}/{x}/{y}.mvt
  (a TileJSON names them at the data version: {base}/tiles/v{version}/{l1,...}/..., see
  tiles.url_version; with `as_of`, the instant names the data instead)
- composite TileJSON       {base}/tiles/{l1,l2,...}.json
- OGC tile of one layer    {base}/collections/{layer}/tiles/WebMercatorQuad/{z}/{y}/{x}
- layer TileJSON           {base}/collections/{layer}/tiles/WebMercatorQuad/tilejson
"""
from __future__ import annotations

from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from layers.extent import layers_extent

from .generalise import DEFAULT_DETAIL_ZOOM, is_point_layer
from .grid import MAX_ZOOM, TMS_ID

WORLD_BOUNDS = [-180.0, -85.0511287798066, 180.0, 85.0511287798066]
ATTRIBUTION = "Da Nang urban GIS"


def _field_kind(column: sa.Column) -> str:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return "Boolean"
    if isinstance(kind, (sa.Integer, sa.Numeric)):
        return "Number"
    return "String"


def vector_layer(layer) -> dict:
    """The TileJSON `vector_layers` entry of a layer: its tile fields and zoom range."""
    fields = {name: _field_kind(layer.table.c[name]) for name in layer.tile_fields}
    if is_point_layer(layer):
        fields["point_count"] = "Number"
        fields["cluster"] = "Boolean"
    return {"id": layer.id, "description": f"{layer.title_vi} / {layer.title_en}",
            "minzoom": layer.min_zoom, "maxzoom": min(layer.max_zoom, MAX_ZOOM),
            "fields": fields}


def layer_bounds(conn: Connection, layers) -> list[float]:
    """Union of the layers' estimated extents in degrees (no table scan, see
    layers.extent); the world when nothing is known yet."""
    box = layers_extent(conn, layers, estimated=True)
    return list(WORLD_BOUNDS) if box is None else list(box)


def _query(params: dict | None) -> str:
    kept = {k: v for k, v in (params or {}).items() if v not in (None, "")}
    return ("?" + urlencode(kept)) if kept else ""


def tilejson(layers, tiles_url: str, bounds: list[float], *, name: str | None = None) -> dict:
    """TileJSON 3.0.0 of `layers` served at `tiles_url` (a {z}/{x}/{y} template)."""
    minzoom = min(layer.min_zoom for layer in layers)
    maxzoom = min(max(layer.max_zoom for layer in layers), MAX_ZOOM)
    centre_zoom = max(minzoom, min(maxzoom, DEFAULT_DETAIL_ZOOM - 2))
    return {
        "tilejson": "3.0.0",
        "name": name or ",".join(layer.id for layer in layers),
        "description": "; ".join(f"{layer.title_vi} / {layer.title_en}" for layer in layers),
        "version": "1.0.0",
        "attribution": ATTRIBUTION,
        "scheme": "xyz",
        "tiles": [tiles_url],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, centre_zoom],
        "format": "pbf",
        "vector_layers": [vector_layer(layer) for layer in layers],
    }


def _segment(version: int | None) -> str:
    """The path segment of a data version (tiles.url_version), or nothing."""
    return "" if version is None else f"v{version}/"


def composite_tiles_url(base: str, layers, params: dict | None = None,
                        version: int | None = None) -> str:
    """The XYZ template of composite tiles (at a data version when given, see
    tiles.url_version)."""
    ids = ",".join(layer.id for layer in layers)
    return f"{base}/tiles/{_segment(version)}{ids}/{{z}}/{{x}}/{{y}}.mvt" + _query(params)


def layer_tiles_url(base: str, layer, params: dict | None = None,
                    version: int | None = None) -> str:
    """The XYZ template of a layer's OGC tiles (at a data version when given)."""
    return (f"{base}/collections/{layer.id}/tiles/{TMS_ID}/{_segment(version)}{{z}}/{{y}}/{{x}}"
            + _query(params))
