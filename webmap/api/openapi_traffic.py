"""The OpenAPI paths of the live traffic data: a station's counts (GET as JSON or CSV,
POST of a batch of observations) and the traffic of a ward (`/query/traffic`)."""
from __future__ import annotations

from .openapi_services import ERROR, get, param
from .openapi_writes import BEARER

CSV = {"text/csv": {"schema": {"type": "string"}}}
SERIES = {"application/json": {"schema": {"type": "object"}}, **CSV}
DATETIME = param("datetime", "Instant or interval (start/end, '..' for an open end); a bare date "
                 "is a day in Asia/Ho_Chi_Minh.", {"type": "string"})
STEP = param("step", "Bucket size, cut in Asia/Ho_Chi_Minh.", {"type": "string", "enum": ["hour", "day", "week"]})
FORMAT = param("f", "json or csv (or Accept: text/csv).", {"type": "string", "enum": ["json", "csv"]})
STATION = param("featureId", "Station id.", {"type": "integer", "minimum": 1}, where="path")
COUNT = {"type": "integer", "minimum": 0, "maximum": 1_000_000}
OBSERVATION = {
    "type": "object", "additionalProperties": False,
    "required": ["time", "motorbikes", "cars", "trucks", "buses"],
    "properties": {"time": {"type": "string", "format": "date-time"},
                   "motorbikes": COUNT, "cars": COUNT, "trucks": COUNT, "buses": COUNT,
                   "avg_speed_kmh": {"type": "number", "nullable": True, "minimum": 0, "maximum": 300}}}
BATCH = {"type": "object", "additionalProperties": False, "required": ["observations"],
         "properties": {"observations": {"type": "array", "minItems": 1, "maxItems": 10_000,
                                         "items": OBSERVATION}}}


def traffic_paths(writes: bool = False) -> dict:
    """Every path of the live traffic data, for `/api` (the POST of counts only while
    the server takes writes)."""
    series = get("Counts of a station by hour, day or week", "traffic_stationCounts",
                 [STATION, DATETIME, STEP, FORMAT], SERIES)
    post = {"summary": "Add or correct a station's hourly counts (idempotent on station + hour)",
            "operationId": "traffic_postCounts", "tags": ["traffic"], "parameters": [STATION],
            "security": BEARER,
            "requestBody": {"required": True, "content": {"application/json": {"schema": BATCH}, **CSV}},
            "responses": {"200": {"description": "{inserted, updated, unchanged}",
                                  "content": {"application/json": {"schema": {"type": "object"}}}},
                          **{code: ERROR for code in ("400", "401", "403", "404", "413", "503")}}}
    ward = get("Counts of a ward's stations, per ward and per road segment", "traffic_ward", [
        param("ward", "Ward or commune code, taken at the interval.", {"type": "string"}, required=True),
        DATETIME | {"required": True}, STEP, FORMAT], SERIES)
    counts = {"get": series, **({"post": post} if writes else {})}
    return {"/collections/traffic_stations/items/{featureId}/counts": counts, "/query/traffic": {"get": ward}}
