"""`/collections/{layer}/schema`: the JSON Schema of a layer's features as a writer sees
them, for the map's edit forms and for clients: each property's type, its values when
the registry codes them (with their Vietnamese and English labels), which are required,
titles in English (`title`) and Vietnamese (`x-title-vi`), and `readOnly` for what the
database fills itself (the id, `updated_at`, generated columns)."""
from __future__ import annotations

from layers.importing import import_target
from layers.layer import Layer
from layers.registry import get_layer
from layers.value_labels import value_labels

from ..caching import make_tag
from .collections import json_schema_type
from .params import only_known
from .response import SCHEMA_JSON, ApiResponse

GEOMETRY_TYPES = {"MultiPolygon": ("Polygon", "MultiPolygon"), "MultiLineString": ("LineString", "MultiLineString"),
                  "Point": ("Point",), "Polygon": ("Polygon",), "LineString": ("LineString",)}


def _property(layer: Layer, name: str, writable: set[str], labels: dict) -> dict:
    field = layer.field(name)
    out = {"title": field.en, "x-title-vi": field.vi, **json_schema_type(layer.column(name))}
    if layer.column(name).nullable:
        out["type"] = [out["type"], "null"]
    coded = labels.get(name)
    if coded:
        out["enum"] = list(coded)
        out["x-enum-titles"] = {value: {"en": en, "vi": vi} for value, (vi, en) in coded.items()}
    if name not in writable:
        out["readOnly"] = True
    return out


def schema_document(layer: Layer, base: str) -> dict:
    """The schema of `layer`'s features (properties and geometry)."""
    target = import_target(layer.id)
    writable = set(target.column_names)
    labels = value_labels().get(layer.id, {})
    props = {f.name: _property(layer, f.name, writable, labels) for f in layer.fields}
    for name in ("updated_at",):
        if name in layer.table.c and name not in props:
            props[name] = {"title": "Updated at", "x-title-vi": "Cập nhật lúc", "type": "string",
                           "format": "date-time", "readOnly": True}
    required = [c.name for c in target.columns if c.required and c.name in props]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{layer.id}/schema",
        "title": layer.title_en, "x-title-vi": layer.title_vi, "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"const": "Feature"},
            "id": {"type": "integer", "readOnly": True},
            "geometry": {"title": "Geometry", "x-title-vi": "Hình học",
                         "x-geometry-types": list(GEOMETRY_TYPES.get(layer.geometry_type, (layer.geometry_type,)))},
            "properties": {"type": "object", "properties": props, "required": required,
                           "additionalProperties": False},
        },
    }


def feature_schema(layer_id: str, pairs, *, base: str) -> ApiResponse:
    """The schema document (JSON only), tagged by its content."""
    layer = get_layer(layer_id)
    only_known(pairs, ("f",))
    doc = schema_document(layer, base)
    return ApiResponse(media_type=SCHEMA_JSON, document=doc,
                       etag=make_tag("schema", layer.id, base, len(doc["properties"]["properties"])))
