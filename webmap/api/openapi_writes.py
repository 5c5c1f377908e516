"""The write side of `/api` (only while GISDB_WRITES is on): OGC API - Features Part 4
operations on each layer's items (POST, PUT, PATCH, DELETE), `POST /transactions`,
`GET /audit`; and each layer's feature schema (always: the edit forms read it)."""
from __future__ import annotations

from layers.layer import Layer

ERROR = {"$ref": "#/components/responses/Error"}
BEARER = [{"bearer": []}]
FEATURE_BODY = {"required": True, "content": {
    "application/geo+json": {"schema": {"type": "object"}},
    "application/json": {"schema": {"type": "object"}}}}
PATCH_BODY = {"required": True, "content": {"application/merge-patch+json": {"schema": {"type": "object"}}}}
REFUSALS = {"400": ERROR, "401": ERROR, "403": ERROR, "404": ERROR, "409": ERROR, "412": ERROR,
            "415": ERROR, "422": ERROR, "428": ERROR, "503": ERROR}


def _header(name: str, description: str, required: bool = False) -> dict:
    return {"name": name, "in": "header", "description": description, "required": required,
            "schema": {"type": "string"}}


CONTENT_CRS = _header("Content-Crs", "CRS of the body's geometry, e.g. "
                      "<http://www.opengis.net/def/crs/EPSG/0/5899> (default CRS84).")
IF_MATCH = _header("If-Match", "The ETag of the feature as it was read.", required=True)
COMMENT = _header("X-Comment", "A comment for the audit trail.")


def _op(summary: str, op_id: str, layer: Layer, params: list, body: dict | None, ok: dict) -> dict:
    out = {"summary": summary, "operationId": op_id, "tags": [layer.group], "security": BEARER,
           "parameters": params, "responses": {**ok, **REFUSALS}}
    if body is not None:
        out["requestBody"] = body
    return out


def items_writes(layer: Layer) -> dict:
    """POST on `/collections/{layer}/items`."""
    created = {"201": {"description": "Created (Location, ETag)."}}
    return {"post": _op(f"Add a feature to {layer.title_en}", f"createItem_{layer.id}", layer,
                        [CONTENT_CRS, COMMENT], FEATURE_BODY, created)}


def item_writes(layer: Layer) -> dict:
    """PUT, PATCH and DELETE on `/collections/{layer}/items/{featureId}`."""
    fid = {"name": "featureId", "in": "path", "required": True, "description": "Feature id.",
           "schema": {"type": "integer"}}
    done = {"204": {"description": "Done (the new ETag)."}}
    return {
        "put": _op(f"Replace a feature of {layer.title_en}", f"replaceItem_{layer.id}", layer,
                   [fid, IF_MATCH, CONTENT_CRS, COMMENT], FEATURE_BODY, done),
        "patch": _op(f"Update a feature of {layer.title_en} (JSON Merge Patch)",
                     f"updateItem_{layer.id}", layer, [fid, IF_MATCH, CONTENT_CRS, COMMENT],
                     PATCH_BODY, done),
        "delete": _op(f"Delete a feature of {layer.title_en}", f"deleteItem_{layer.id}", layer,
                      [fid, IF_MATCH, COMMENT], None, done),
    }


def schema_path(layer: Layer) -> dict:
    """GET `/collections/{layer}/schema`."""
    return {"get": {"summary": f"Schema of the features of {layer.title_en}",
                    "operationId": f"getSchema_{layer.id}", "tags": [layer.group],
                    "responses": {"200": {"description": "JSON Schema.", "content": {
                        "application/schema+json": {"schema": {"type": "object"}}}},
                        "400": ERROR, "404": ERROR}}}


def service_writes() -> dict:
    """`/transactions` and `/audit`."""
    query = [{"name": n, "in": "query", "required": False, "description": d, "schema": {"type": "string"}}
             for n, d in (("actor", "Who wrote."), ("layer", "Layer id."),
                          ("source", "api, cli or import."), ("since", "RFC 3339, inclusive."),
                          ("until", "RFC 3339, exclusive."), ("limit", "Entries per page."),
                          ("offset", "Entries to skip."))]
    return {
        "/transactions": {"post": {
            "summary": "Several changes across layers, all or nothing", "operationId": "transaction",
            "security": BEARER, "parameters": [CONTENT_CRS, COMMENT],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {"200": {"description": "Each action's id and ETag."}, **REFUSALS}}},
        "/audit": {"get": {
            "summary": "The audit trail (edits and imports), for admins", "operationId": "getAudit",
            "security": BEARER, "parameters": query,
            "responses": {"200": {"description": "A page of the trail."}, "400": ERROR, "401": ERROR,
                          "403": ERROR}}},
    }
