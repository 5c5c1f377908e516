"""The raster catalog and its tiles, drawn by rio-tiler. Each view is one call into
`tiles`; `webmap.tile_http` answers (304 before anything is read, else the bytes).

- `/rasters` the catalog; `/rasters/{name}` one entry;
- `/rasters/{name}/{z}/{x}/{y}.png` and `/rasters/{name}/tiles/WebMercatorQuad/{z}/{y}/{x}.png`
  (the last segment may end in `@2x`) with `?colormap=NAME&hillshade=true|false`;
  outside the raster: transparent PNG (200).
A tile's ETag follows the raster's file hash; it says a short max-age (a raster changes
only when it is added again).
"""
from __future__ import annotations

from flask import Blueprint, Response, request

from tiles.grid import TMS_ID, matrix_set, parse_tile
from tiles.raster import colormap_names

from .responses import json_document, respond
from .tile_http import check_params, image_response, scaled
from .tile_services import raster_tiles

bp = Blueprint("rasters", __name__)
RASTER_PARAMS = frozenset({"colormap", "hillshade", "f"})


def _entry_json(entry: dict) -> dict:
    root = request.host_url.rstrip("/")
    name = entry["name"]
    added = entry.get("added_at")
    return {
        "name": name, "title": entry.get("title"), "kind": entry.get("kind"),
        "crs": entry.get("crs"), "width": entry.get("width"), "height": entry.get("height"),
        "band_count": entry.get("band_count"), "dtype": entry.get("dtype"),
        "nodata": entry.get("nodata"), "bbox": entry.get("bbox"),
        "stats": entry.get("stats"), "added_at": added.isoformat() if added else None,
        "tiles": [root + "/rasters/" + name + "/{z}/{x}/{y}.png"],
        "links": [
            {"rel": "self", "type": "application/json", "href": f"{root}/rasters/{name}"},
            {"rel": "item", "type": "image/png", "templated": True,
             "href": root + "/rasters/" + name + "/tiles/" + TMS_ID + "/{z}/{y}/{x}.png"},
        ],
    }


@bp.get("/rasters")
def raster_list():
    entries = raster_tiles().catalog()
    return respond(json_document({"rasters": [_entry_json(e) for e in entries],
                                  "colormaps": colormap_names(),
                                  "links": [{"rel": "self", "type": "application/json",
                                             "href": request.host_url.rstrip("/") + "/rasters"}]}),
                   "listing")


@bp.get("/rasters/<name>")
def raster_entry(name: str):
    return respond(json_document(_entry_json(raster_tiles().entry(name))), "listing")


def _raster_png(name: str, z: str, x: str, y: str, scale: int) -> Response:
    tile = parse_tile(z, x, y)
    check_params(request.args, RASTER_PARAMS)
    return image_response(raster_tiles().tile(name, tile, request.args, scale), "raster_tile")


@bp.get("/rasters/<name>/<z>/<x>/<y>.png")
def raster_xyz_tile(name: str, z: str, x: str, y: str):
    y, scale = scaled(y)
    return _raster_png(name, z, x, y, scale)


@bp.get("/rasters/<name>/tiles/<tms>/<z>/<y>/<x>.png")
def raster_ogc_tile(name: str, tms: str, z: str, y: str, x: str):
    matrix_set(tms, (TMS_ID,))          # raster tiles are cut in WebMercatorQuad only
    x, scale = scaled(x)
    return _raster_png(name, z, x, y, scale)
