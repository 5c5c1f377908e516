"""The OpenAPI paths of everything besides OGC API - Features: vector and map tiles
(OGC API - Tiles and XYZ), TileJSON, tile matrix sets, raster tiles, the spatial queries,
search, the planners' map and the health check. `webmap.api.openapi` adds them to `/api`,
so clients (and the Schemathesis run of the test suite) see every endpoint."""
from __future__ import annotations

from layers.registry import visible_layers
from tiles.grid import MATRIX_SETS, MAX_ZOOM, TMS_ID

ERROR = {"$ref": "#/components/responses/Error"}
MVT = "application/vnd.mapbox-vector-tile"
JSON_OBJECT = {"application/json": {"schema": {"type": "object"}}}
PNG = {"image/png": {"schema": {"type": "string", "format": "binary"}}}
HTML = {"text/html": {"schema": {"type": "string"}}}


def param(name: str, description: str, schema: dict, *, where: str = "query",
          required: bool = False) -> dict:
    """One parameter object (path parameters are always required)."""
    return {"name": name, "in": where, "description": description,
            "required": required or where == "path", "schema": schema}


def _text(name: str, description: str, **schema) -> dict:
    return param(name, description, {"type": "string", **schema})


def _number(name: str, description: str, low: float, high: float, *, required=False) -> dict:
    return param(name, description, {"type": "number", "minimum": low, "maximum": high},
                 required=required)


def _integer(name: str, description: str, low: int, high: int, *, where: str = "query") -> dict:
    return param(name, description, {"type": "integer", "minimum": low, "maximum": high},
                 where=where)


def get(summary: str, op: str, params: list[dict], content: dict, *,
        empty: str | None = None) -> dict:
    """A GET operation answering `content` (200), 304 on a matching ETag, JSON errors;
    `empty` describes a 204."""
    responses = {"200": {"description": summary, "content": content},
                 "304": {"description": "Not modified (ETag)."},
                 "400": ERROR, "404": ERROR, "503": ERROR}
    if empty:
        responses["204"] = {"description": empty}
    return {"summary": summary, "operationId": op, "tags": [op.split("_")[0]],
            "parameters": params, "responses": responses}




def _with_401(operation: dict) -> dict:
    """An operation that needs a bearer credential (401 without one)."""
    operation["responses"]["401"] = ERROR
    return operation


def layer_param() -> dict:
    """The collectionId path parameter: the ids of the layers the caller may see."""
    return param("collectionId", "Layer id.",
                 {"type": "string", "enum": [layer.id for layer in visible_layers()]},
                 where="path")


TMS = param("tileMatrixSetId", "Tile matrix set.", {"type": "string", "enum": list(MATRIX_SETS)},
            where="path")
TMS_WEB = param("tileMatrixSetId", "Tile matrix set (TileJSON and rasters: WebMercatorQuad only).",
                {"type": "string", "enum": [TMS_ID]}, where="path")
LAYERS_PATH = param("layers", "Comma-separated layer ids.", {"type": "string"}, where="path")
LAYER_LIST = _text("layers", "Comma-separated layer ids (all when absent).")
CQL = [_text("filter", "CQL2 filter over the layer's queryables."),
       _text("filter-lang", "Language of filter.", enum=["cql2-text", "cql2-json"]),
       _text("filter-crs", "CRS of geometries in filter.", format="uri")]
AT_DATE = _text("at_date", "Day the administrative units are taken at (YYYY-MM-DD; today).",
                format="date")
AS_OF = _text("as_of", "The database as it was at this instant (RFC 3339, or a date).")


def _zxy(order: str, suffix: str = "") -> list[dict]:
    """z, then x/y (XYZ) or row/column (OGC), as path parameters (the zoom's bound is the
    largest of the tile matrix sets; each set checks its own)."""
    z = _integer("tileMatrix" if order == "ogc" else "z", "Zoom level.", 0, MAX_ZOOM, where="path")
    names = ("tileRow", "tileCol") if order == "ogc" else ("x", "y")
    return [z] + [param(n, "Tile " + n + (" (may end in @2x)" if suffix else "") + ".",
                        {"type": "string" if suffix else "integer", **({} if suffix else {"minimum": 0})},
                        where="path") for n in names]


def tile_paths() -> dict:
    """Vector tiles, map (PNG) tiles, their tilesets, TileJSON and tile matrix sets."""
    vector = [_text("filter", "CQL2 filter."), *CQL[1:], _text("datetime", "Instant or interval."), AS_OF]
    png = [AS_OF, _text("datetime", "The data's time (e.g. the admin units valid then)."),
           _text("theme", "One layer only: a thematic colouring (layers/themes.py), e.g. floors."),
           _text("filter", "One layer only: CQL2 filter; only matching features are drawn."), *CQL[1:]]
    coll = "/collections/{collectionId}"
    ogc_row_col = "/{tileMatrix}/{tileRow}/{tileCol}"
    return {
        coll + "/tiles": {"get": get("Vector tilesets of a layer", "tiles_vectorTilesets",
                                     [layer_param()], JSON_OBJECT)},
        coll + "/tiles/{tileMatrixSetId}": {"get": get(
            "Vector tileset metadata", "tiles_vectorTileset", [layer_param(), TMS], JSON_OBJECT)},
        coll + "/tiles/{tileMatrixSetId}/tilejson": {"get": get(
            "TileJSON 3.0 of a layer", "tiles_layerTileJSON", [layer_param(), TMS_WEB, *vector], JSON_OBJECT)},
        coll + "/tiles/{tileMatrixSetId}" + ogc_row_col: {"get": get(
            "Vector tile (MVT) of a layer", "tiles_layerTile",
            [layer_param(), TMS, *_zxy("ogc"), *vector], {MVT: {"schema": {"type": "string", "format": "binary"}}},
            empty="No feature in this tile.")},
        coll + "/map/tiles": {"get": get("Map tilesets of a layer", "tiles_mapTilesets",
                                         [layer_param()], JSON_OBJECT)},
        coll + "/map/tiles/{tileMatrixSetId}": {"get": get(
            "Map tileset metadata", "tiles_mapTileset", [layer_param(), TMS], JSON_OBJECT)},
        coll + "/map/tiles/{tileMatrixSetId}" + ogc_row_col: {"get": get(
            "Map tile (PNG) of a layer", "tiles_layerPng", [layer_param(), TMS, *_zxy("ogc", "@2x"), *png], PNG)},
        "/tiles/{layers}/{z}/{x}/{y}.mvt": {"get": get(
            "Vector tile of several layers (XYZ)", "tiles_compositeMvt",
            [LAYERS_PATH, *_zxy("xyz"), *vector],
            {MVT: {"schema": {"type": "string", "format": "binary"}}}, empty="No feature in this tile.")},
        "/tiles/{layers}/{z}/{x}/{y}.png": {"get": get(
            "Map tile of several layers (XYZ)", "tiles_compositePng",
            [LAYERS_PATH, *_zxy("xyz", "@2x"), *png], PNG)},
        "/tiles/{layers}.json": {"get": get(
            "TileJSON 3.0 of several layers", "tiles_compositeTileJSON",
            [LAYERS_PATH, *vector], JSON_OBJECT)},
        "/tiles/base/{z}/{x}/{y}.png": {"get": get(
            "Offline base map tile", "tiles_basePng", _zxy("xyz", "@2x"), PNG)},
        "/tileMatrixSets": {"get": get("Tile matrix sets", "tiles_tileMatrixSets", [], JSON_OBJECT)},
        "/tileMatrixSets/{tileMatrixSetId}": {"get": get(
            "A tile matrix set", "tiles_tileMatrixSet", [TMS], JSON_OBJECT)},
    }


def raster_paths() -> dict:
    """The raster catalogue and raster tiles (a colour map and hillshade on request)."""
    name = param("name", "Raster name.", {"type": "string"}, where="path")
    style = [_text("colormap", "Colour map name (see /rasters)."),
             _text("hillshade", "Blend a hillshade: true/false.")]
    return {
        "/rasters": {"get": get("Raster layers", "rasters_list", [], JSON_OBJECT)},
        "/rasters/{name}": {"get": get("One raster layer", "rasters_entry", [name], JSON_OBJECT)},
        "/rasters/{name}/{z}/{x}/{y}.png": {"get": get(
            "Raster tile (XYZ)", "rasters_xyzTile", [name, *_zxy("xyz", "@2x"), *style], PNG)},
        "/rasters/{name}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}.png": {"get": get(
            "Raster tile (OGC order)", "rasters_ogcTile",
            [name, TMS_WEB, *_zxy("ogc", "@2x"), *style], PNG)},
    }


def _geometry_body(description: str) -> dict:
    return {"required": False, "description": description,
            "content": {"application/json": {"schema": {"type": "object"}}}}


def query_paths() -> dict:
    """Identify, near, within, statistics, search, the map pages and the health check."""
    lon = _number("lon", "Longitude (EPSG:4326).", -180, 180)
    lat = _number("lat", "Latitude (EPSG:4326).", -90, 90)
    near = get("Features of a layer near a point or line", "queries_near", [
        _text("layer", "Layer id."), lon, lat, _text("geometry", "GeoJSON point or line."),
        _number("distance", "Distance (metres).", 0, 10_000), *CQL,
        _integer("limit", "Features per page.", 1, 10_000), _integer("offset", "Skip.", 0, 10**9),
        AT_DATE, _text("include_geometry", "true/false."), AS_OF], JSON_OBJECT)
    within = get("What lies in an area, counted per layer", "queries_within", [
        _text("geometry", "GeoJSON polygon."), _text("circle", "lon,lat,radius_m."), LAYER_LIST,
        AT_DATE, _integer("features", "Feature ids to list per layer.", 0, 1000), AS_OF,
        _text("breakdown", "Counts per category of each layer.", enum=["true", "false"]),
        _text("wards", "The part of each ward inside the area (m², EPSG:5899).",
              enum=["true", "false"]),
        _text("f", "json (counts), csv (the features inside) or xlsx (list, counts, breakdown, "
              "wards).", enum=["json", "csv", "xlsx"])],
        {**JSON_OBJECT, "text/csv": {"schema": {"type": "string"}},
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
         {"schema": {"type": "string", "format": "binary"}}})
    return {
        "/query/identify": {"get": get("Features at a point", "queries_identify", [
            lon | {"required": True}, lat | {"required": True}, LAYER_LIST,
            _number("tolerance", "Search radius (metres).", 0, 1000),
            _number("zoom", "Map zoom (sets the tolerance).", 0, 24),
            _integer("limit", "Features in all.", 1, 200),
            _integer("per_layer", "Features per layer.", 1, 20), AT_DATE, AS_OF], JSON_OBJECT)},
        "/query/near": {"get": near, "post": {
            **near, "operationId": "queries_nearPost", "parameters": [],
            "requestBody": _geometry_body("The same as the query parameters, as JSON.")}},
        "/query/within": {"get": within, "post": {
            **within, "operationId": "queries_withinPost", "parameters": [],
            "requestBody": _geometry_body("A GeoJSON polygon, or {geometry, layers, ...}.")}},
        "/query/stats": {"get": get("Layer statistics per administrative unit", "queries_stats", [
            _text("layer", "Layer id.") | {"required": True},
            _text("by", "Group by.", enum=["ward", "district"]), *CQL, AT_DATE, AS_OF], JSON_OBJECT)},
        "/history/timeline": {"get": get("The span of the recorded history and the changes per day",
                                         "history_timeline", [], JSON_OBJECT)},
        "/search": {"get": get("Search names, codes and addresses", "queries_search", [
            _text("q", "Text (with or without Vietnamese diacritics).") | {"required": True},
            LAYER_LIST, _integer("limit", "Results.", 1, 50)], JSON_OBJECT)},
        "/map": {"get": get("The planners' map", "map_all", [_text("lang", "vi or en.")], HTML)},
        "/map/{collectionId}": {"get": get("The map focused on a layer", "map_layer",
                                           [layer_param(), _text("lang", "vi or en.")], HTML)},
        "/healthz": {"get": get("Database check", "health_check", [], JSON_OBJECT)},
        "/auth/me": {"get": _with_401(get("Who the bearer credential is: name, kind, roles "
                                          "per layer, whether writes are on", "auth_me", [],
                                          JSON_OBJECT))},
    }


def service_paths() -> dict:
    """Every path of this module, for `/api`."""
    return {**tile_paths(), **raster_paths(), **query_paths()}
