"""A request's JSON body, read once: its size is bounded while it streams in
(webmap.body_limit); invalid JSON, or nesting deeper than Python's recursion limit, is
a 400. Shared by the query views and the write views."""
from __future__ import annotations

import json

from gisdb.errors import InvalidParameter


def json_body(raw: bytes):
    """The decoded JSON of `raw` (InvalidParameter when it is not JSON)."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameter("the request body is not valid JSON") from None
    except RecursionError:
        raise InvalidParameter("the request body is nested too deeply") from None
