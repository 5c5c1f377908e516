"""`/api`: the OpenAPI 3.0 document. Every collection's items path declares bbox,
limit, offset, datetime (layers with time), crs, bbox-crs, filter, filter-lang,
filter-crs, sortby, properties and each queryable, so clients push work to the server;
the tiles, rasters, queries, search and map paths come from `openapi_services`."""
from __future__ import annotations

from gisdb.crs import SUPPORTED
from layers.layer import Layer
from layers.registry import visible_layers

from .collections import json_schema_type
from .landing import TITLE
from .openapi_feed import feed_paths
from .openapi_planning import planning_paths
from .openapi_processes import process_paths
from .openapi_services import service_paths
from .openapi_traffic import traffic_paths
from .openapi_writes import item_writes, items_writes, schema_path, service_writes
from .params import DEFAULT_LIMIT, MAX_LIMIT
from .response import OPENAPI, ApiResponse

CRS_ENUM = [c.uri for c in SUPPORTED]
ERROR = {"$ref": "#/components/responses/Error"}


def _param(name: str, description: str, schema: dict, *, style: str | None = None,
           explode: bool | None = None, required: bool = False, where: str = "query") -> dict:
    out = {"name": name, "in": where, "description": description, "required": required,
           "schema": schema}
    if style:
        out["style"] = style
    if explode is not None:
        out["explode"] = explode
    return out


COMMON_PARAMS = {
    "f": _param("f", "Output format.", {"type": "string", "enum": ["json", "html"]}),
    "bbox": _param("bbox", "Features intersecting this box: minx,miny,maxx,maxy in bbox-crs "
                   "axis order.", {"type": "array", "minItems": 4, "maxItems": 6,
                                   "items": {"type": "number"}}, style="form", explode=False),
    "bbox-crs": _param("bbox-crs", "CRS of bbox.", {"type": "string", "format": "uri", "enum": CRS_ENUM}),
    "crs": _param("crs", "CRS of the returned geometries.", {"type": "string", "format": "uri", "enum": CRS_ENUM}),
    "limit": _param("limit", f"Features per page (default {DEFAULT_LIMIT}; larger values are "
                    f"clamped to {MAX_LIMIT}).", {"type": "integer", "minimum": 1,
                                                   "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
    "offset": _param("offset", "Features to skip (paging; follow the `next` link).",
                     {"type": "integer", "minimum": 0, "default": 0}),
    "after": _param("after", "Keyset paging in id order: features whose id is above this one "
                    "(what the `next` links use; not with offset or sortby).",
                    {"type": "integer", "minimum": 0}),
    "datetime": _param("datetime", "Instant or interval (RFC 3339, open ends `..`).", {"type": "string"}),
    "as_of": _param("as_of", "The database as it was at this instant (RFC 3339 timestamp, UTC "
                    "without an offset, or a date: its start in UTC); in the future: now.",
                    {"type": "string"}),
    "filter": _param("filter", "CQL2 filter over the queryables.", {"type": "string"}),
    "filter-lang": _param("filter-lang", "Language of filter.",
                          {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"}),
    "filter-crs": _param("filter-crs", "CRS of geometries in filter.",
                         {"type": "string", "format": "uri", "enum": CRS_ENUM}),
    "sortby": _param("sortby", "Sort keys: queryables, `-` for descending.",
                     {"type": "array", "items": {"type": "string"}}, style="form", explode=False),
    "properties": _param("properties", "Properties to return.",
                         {"type": "array", "items": {"type": "string"}}, style="form", explode=False),
}


def _ref(name: str) -> dict:
    return {"$ref": "#/components/parameters/" + name}


def _items_path(layer: Layer) -> dict:
    names = ["f", "bbox", "bbox-crs", "crs", "limit", "offset", "after"]
    names += ["datetime"] if layer.time_field else []
    names += ["filter", "filter-lang", "filter-crs", "sortby", "properties", "as_of"]
    params = [_ref(n) for n in names] + [
        _param(f.name, f"Equal to this value ({f.en}).", json_schema_type(layer.column(f.name)))
        for f in layer.queryables]
    return {"get": {
        "summary": f"Features of {layer.title_en} ({layer.title_vi})",
        "operationId": f"getItems_{layer.id}", "tags": [layer.group], "parameters": params,
        "responses": {"200": {"description": "A page of features (GeoJSON FeatureCollection).",
                              "content": {"application/geo+json": {"schema": {"type": "object"}},
                                          "text/html": {"schema": {"type": "string"}}}},
                      "304": {"description": "Not modified (ETag)."},
                      "400": ERROR, "404": ERROR, "503": ERROR}}}


def _item_path(layer: Layer) -> dict:
    return {"get": {
        "summary": f"One feature of {layer.title_en}", "operationId": f"getItem_{layer.id}",
        "tags": [layer.group],
        "parameters": [_param("featureId", "Feature id.", {"type": "integer"}, required=True,
                              where="path"), _ref("f"), _ref("crs"), _ref("properties"),
                       _ref("as_of")],
        "responses": {"200": {"description": "A GeoJSON Feature.",
                              "content": {"application/geo+json": {"schema": {"type": "object"}}}},
                      "404": ERROR}}}


def _history_path(layer: Layer) -> dict:
    return {"get": {
        "summary": f"Versions of one feature of {layer.title_en}, newest first",
        "operationId": f"getItemHistory_{layer.id}", "tags": [layer.group],
        "parameters": [_param("featureId", "Feature id.", {"type": "integer"}, required=True,
                              where="path"), _ref("f"),
                       _param("limit", "Versions per page (1-1000).", {"type": "integer", "minimum": 1,
                                                                        "maximum": 1000}),
                       _param("offset", "Versions to skip.", {"type": "integer", "minimum": 0})],
        "responses": {"200": {"description": "The versions, each with its changes.",
                              "content": {"application/json": {"schema": {"type": "object"}},
                                          "text/html": {"schema": {"type": "string"}}}},
                      "304": {"description": "Not modified (ETag)."}, "400": ERROR, "404": ERROR}}}


def _simple(summary: str, op: str) -> dict:
    return {"get": {"summary": summary, "operationId": op, "parameters": [_ref("f")],
                    "responses": {"200": {"description": summary}, "400": ERROR}}}


def openapi_document(base: str, writes: bool = False) -> dict:
    """The document; with `writes`, the Part 4 operations and the write services too."""
    paths = {"/": _simple("Landing page", "getLanding"),
             "/conformance": _simple("Conformance classes", "getConformance"),
             "/api": _simple("This API definition", "getApi"),
             "/collections": _simple("The collections", "getCollections")}
    for layer in visible_layers():
        prefix = f"/collections/{layer.id}"
        paths[prefix] = _simple(f"Collection {layer.title_en}", f"getCollection_{layer.id}")
        paths[prefix + "/queryables"] = _simple(f"Queryables of {layer.title_en}",
                                                f"getQueryables_{layer.id}")
        paths[prefix + "/items"] = _items_path(layer)
        paths[prefix + "/items/{featureId}"] = _item_path(layer)
        paths[prefix + "/items/{featureId}/history"] = _history_path(layer)
        paths[prefix + "/schema"] = schema_path(layer)
        if writes:
            paths[prefix + "/items"].update(items_writes(layer))
            paths[prefix + "/items/{featureId}"].update(item_writes(layer))
    paths.update(service_paths())
    paths.update(traffic_paths(writes))
    paths.update(planning_paths())
    if writes:
        paths.update(service_writes())
    paths.update(feed_paths())
    paths.update(process_paths())
    return {
        "openapi": "3.0.3",
        "info": {"title": TITLE, "version": "1.0.0",
                 "description": "OGC API - Features (Parts 1, 2, 3) and OGC API - Tiles for "
                                "Da Nang's land, construction and traffic layers; raster "
                                "tiles, spatial queries, search and the planners' map."},
        "servers": [{"url": base or "/"}],
        "paths": paths,
        "components": {
            "parameters": COMMON_PARAMS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "An API key (gdk_...) or an OIDC token."}},
            "responses": {"Error": {"description": "An error: {code, description}.",
                                    "content": {"application/json": {"schema": {
                                        "type": "object", "required": ["code", "description"],
                                        "properties": {"code": {"type": "string"},
                                                       "description": {"type": "string"}}}}}}},
        },
    }


def openapi(pairs, *, base: str, accept_html: bool, writes: bool = False) -> ApiResponse:
    from .params import only_known, output_format
    fmt = output_format(only_known(pairs, ("f",)).get("f"), accept_html)
    doc = openapi_document(base, writes)
    return ApiResponse(media_type=OPENAPI if fmt == "json" else "text/html", document=doc,
                       template="ogc/api.html")
