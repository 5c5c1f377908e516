"""PNG tile endpoints: the vector layers drawn by Mapnik, the offline base map, and the
raster catalog drawn by rio-tiler. Each view is one call into `tiles`.

URL contracts (the last path segment may end in `@2x` for 512-pixel tiles at scale 2):
- `/collections/{layer}/map/tiles/WebMercatorQuad/{z}/{y}/{x}.png` one layer (OGC API -
  Maps style, row then column); a zoom outside the layer's range is a 404.
- `/tiles/{layer1,layer2,...}/{z}/{x}/{y}.png` and `...{y}@2x.png` several layers in one
  image (XYZ order); layers outside their zoom range are left out (transparent).
- `/tiles/base/{z}/{x}/{y}.png` (and `@2x`) the light offline base map.
- `/rasters` the catalog; `/rasters/{name}` one entry;
  `/rasters/{name}/{z}/{x}/{y}.png` and `/rasters/{name}/tiles/WebMercatorQuad/{z}/{y}/{x}.png`
  with `?colormap=NAME&hillshade=true|false`; outside the raster: transparent PNG (200).
Every tile has an ETag (data versions / raster file hash), answers 304 to a matching
If-None-Match, and says `Cache-Control: no-cache` (vector layers: revalidate every time,
so an edit shows at once) or a short max-age (rasters).
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from gisdb.errors import InvalidParameter, NotFound
from tiles.grid import TMS_ID, parse_tile
from tiles.mapnik_postgis import PgSource
from tiles.png import PngTiles, check_zoom, parse_layer_list
from tiles.raster import RasterTiles, colormap_names

from .request_budget import PNG_WAIT_S
from .services import services
from .tile_views import vector_tiles

bp = Blueprint("raster_tiles", __name__)
PNG_CACHE_CONTROL = "public, no-cache"
RASTER_CACHE_CONTROL = "public, max-age=60"
EXTENSION_KEY = "gisdb_png_tiles"
PNG_PARAMS = frozenset({"f"})
RASTER_PARAMS = frozenset({"colormap", "hillshade", "f"})


def _tile_services() -> tuple[PngTiles, RasterTiles]:
    """Built on first use over the vector tiles' engine and cache; Mapnik connects with
    the same database, statement timeout and pool size."""
    ext = current_app.extensions
    if EXTENSION_KEY not in ext:
        vector, settings = vector_tiles(), services().settings
        source = PgSource.from_engine(vector.engine, settings.statement_timeout_ms,
                                      settings.pool_size)
        slots = ext["gisdb.heavy.png"]
        png = PngTiles(vector.engine, vector.cache, source,
                       render_gate=lambda: slots.slot(wait_s=PNG_WAIT_S))
        ext.setdefault(EXTENSION_KEY, (png,
                                       RasterTiles(vector.engine, settings, vector.cache)))
    return ext[EXTENSION_KEY]


def _png_tiles() -> PngTiles:
    _check_params(PNG_PARAMS)
    return _tile_services()[0]


def _raster_tiles() -> RasterTiles:
    _check_params(RASTER_PARAMS)
    return _tile_services()[1]


def _check_params(allowed: frozenset) -> None:
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise InvalidParameter(f"unknown query parameter {unknown[0][:40]!r}")
    if request.args.get("f") not in (None, "", "png"):
        raise InvalidParameter("these tiles are PNG only (f=png)")


def _scaled(text: str) -> tuple[str, int]:
    """'123@2x' -> ('123', 2); '123' -> ('123', 1)."""
    for suffix, scale in (("@2x", 2), ("@1x", 1)):
        if text.endswith(suffix):
            return text[: -len(suffix)], scale
    return text, 1


def _check_tms(tms: str) -> None:
    if tms != TMS_ID:
        raise NotFound(f"unknown tile matrix set {tms!r}: only {TMS_ID} is offered")


def _tile_response(answer, cache_control: str) -> Response:
    if answer.not_modified:
        resp = Response(status=304)
    else:
        resp = Response(answer.data, mimetype=answer.media_type)
    resp.headers["ETag"] = answer.etag
    resp.headers["Cache-Control"] = cache_control
    resp.headers["X-Tile-Cache"] = "hit" if answer.hit else "miss"
    return resp


def _layers_png(layer_ids: tuple[str, ...], tile, scale: int) -> Response:
    answer = _png_tiles().layers_tile(layer_ids, tile, scale,
                                      if_none_match=request.headers.get("If-None-Match"))
    return _tile_response(answer, PNG_CACHE_CONTROL)


@bp.get("/collections/<layer>/map/tiles/<tms>/<z>/<y>/<x>.png")
@bp.get("/collections/<layer>/map/tiles/<tms>/<z>/<y>/<x>")
def collection_map_tile(layer: str, tms: str, z: str, y: str, x: str):
    ids = parse_layer_list(layer)
    if len(ids) != 1:
        raise InvalidParameter("one layer per collection tile; use /tiles/{a,b}/{z}/{x}/{y}.png")
    _check_tms(tms)
    x, scale = _scaled(x)
    tile = parse_tile(z, x, y)
    check_zoom(ids[0], tile.z)
    return _layers_png(ids, tile, scale)


@bp.get("/tiles/base/<z>/<x>/<y>.png")
def base_tile(z: str, x: str, y: str):
    y, scale = _scaled(y)
    tile = parse_tile(z, x, y)
    answer = _png_tiles().base_tile(tile, scale, if_none_match=request.headers.get("If-None-Match"))
    return _tile_response(answer, PNG_CACHE_CONTROL)


@bp.get("/tiles/<layers>/<z>/<x>/<y>.png")
def layers_tile(layers: str, z: str, x: str, y: str):
    y, scale = _scaled(y)
    tile = parse_tile(z, x, y)
    return _layers_png(parse_layer_list(layers), tile, scale)


# --- the raster catalog ----------------------------------------------------------------------

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
    entries = _tile_services()[1].catalog()
    resp = jsonify({"rasters": [_entry_json(e) for e in entries],
                    "colormaps": colormap_names(),
                    "links": [{"rel": "self", "type": "application/json",
                               "href": request.host_url.rstrip("/") + "/rasters"}]})
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/rasters/<name>")
def raster_entry(name: str):
    return jsonify(_entry_json(_tile_services()[1].entry(name)))


def _raster_png(name: str, z: str, x: str, y: str, scale: int) -> Response:
    tile = parse_tile(z, x, y)
    answer = _raster_tiles().tile(name, tile, request.args, scale,
                                  if_none_match=request.headers.get("If-None-Match"))
    return _tile_response(answer, RASTER_CACHE_CONTROL)


@bp.get("/rasters/<name>/<z>/<x>/<y>.png")
def raster_xyz_tile(name: str, z: str, x: str, y: str):
    y, scale = _scaled(y)
    return _raster_png(name, z, x, y, scale)


@bp.get("/rasters/<name>/tiles/<tms>/<z>/<y>/<x>.png")
def raster_ogc_tile(name: str, tms: str, z: str, y: str, x: str):
    _check_tms(tms)
    x, scale = _scaled(x)
    return _raster_png(name, z, x, y, scale)
