"""CQL2 JSON -> pygeofilter AST. Written here (not pygeofilter's cql2_json) because
that parser swaps bbox axes, maps T_INTERSECTS to T_OVERLAPS, takes a `casei()`
pattern as a string and has no distance predicate."""
from __future__ import annotations

import json

from pygeofilter import ast, values
from pygeofilter.cql2 import SPATIAL_PREDICATES_MAP, TEMPORAL_PREDICATES_MAP

from gisdb.errors import InvalidFilter

from .literals import parse_date, parse_instant, parse_timestamp

COMPARISONS = {"=": ast.Equal, "<>": ast.NotEqual, "<": ast.LessThan, "<=": ast.LessEqual,
               ">": ast.GreaterThan, ">=": ast.GreaterEqual}
ARITHMETIC = {"+": ast.Add, "-": ast.Sub, "*": ast.Mul, "/": ast.Div}
GEOJSON_TYPES = {"Point", "LineString", "Polygon", "MultiPoint", "MultiLineString",
                 "MultiPolygon", "GeometryCollection"}


MAX_JSON_DEPTH = 100       # arrays and objects; a CQL2 level takes two, a polygon four


def parse_json(value: str | dict):
    """A CQL2 JSON filter (text or already decoded) as a pygeofilter AST. Nesting is
    measured without recursion first, so a hostile depth is an InvalidFilter, never a
    RecursionError in the decoder or in the walk."""
    if isinstance(value, str):
        _check_text_depth(value)
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise InvalidFilter("the filter is not valid JSON") from None
    if not isinstance(value, dict):
        raise InvalidFilter("a CQL2 JSON filter is an object")
    _check_depth(value)
    return _walk(value)


def _too_deep() -> InvalidFilter:
    return InvalidFilter(f"the filter is nested more than {MAX_JSON_DEPTH} levels deep")


def _check_text_depth(text: str) -> None:
    """Depth of [ and { outside JSON strings, counted in one pass."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
        elif ch in "]}":
            depth -= 1


def _check_depth(value) -> None:
    """Depth of decoded JSON (e.g. a POST body's filter), walked with a stack."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise _too_deep()
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))


def _args(node: dict, count: int | None = None) -> list:
    args = node.get("args")
    if not isinstance(args, list):
        raise InvalidFilter(f"operator {node.get('op')!r} needs an 'args' array")
    if count is not None and len(args) != count:
        raise InvalidFilter(f"operator {node.get('op')!r} takes {count} arguments")
    return args


def _walk(node):
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, (int, float, str)):
        return node
    if isinstance(node, list):
        raise InvalidFilter("an array is only allowed as the list of IN or an interval")
    if not isinstance(node, dict):
        raise InvalidFilter("unexpected value in the filter")
    for key, make in _OBJECTS:
        if key in node:
            return make(node)
    if isinstance(node.get("type"), str) and node["type"] in GEOJSON_TYPES:
        return values.Geometry(node)
    if "function" in node:
        return _function(node)
    raise InvalidFilter("unexpected object in the filter")


def _property(node: dict):
    if not isinstance(node["property"], str):
        raise InvalidFilter("a property name is a string")
    return ast.Attribute(node["property"])


def _interval(node: dict):
    ends = node["interval"]
    if not isinstance(ends, list) or len(ends) != 2:
        raise InvalidFilter("an interval has two ends")
    return values.Interval(*(_instant(e) for e in ends))


def _bbox(node: dict):
    box = node["bbox"]
    if not isinstance(box, list) or len(box) != 4 or not all(_is_number(n) for n in box):
        raise InvalidFilter("a bbox is four numbers")
    return values.Envelope(x1=box[0], x2=box[2], y1=box[1], y2=box[3])


def _function(node: dict):
    fn = node["function"]
    name = fn.get("name") if isinstance(fn, dict) else None
    return ast.Function(str(name).lower(), [_walk(a) for a in fn.get("args", [])]
                        if isinstance(fn, dict) and isinstance(fn.get("args"), list) else [])


def _instant(value):
    if value in ("..", None):
        return None
    if isinstance(value, dict):
        return _walk(value)
    if isinstance(value, str):
        return parse_instant(value)
    raise InvalidFilter("an interval end is a date, a timestamp or '..'")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _operation(node: dict):
    """An `{"op": ..., "args": [...]}` object: its own reader when the operator has one,
    else a binary operator from the tables, else a function call (refused later)."""
    op = node["op"]
    if not isinstance(op, str):
        raise InvalidFilter("'op' is a string")
    op = op.lower() if op.lower() != "isnull" else "isNull"
    if op in _OPERATIONS:
        return _OPERATIONS[op](op, node)
    if op in _BINARY:
        lhs, rhs = (_walk(a) for a in _args(node, 2))
        return _BINARY[op](lhs, rhs)
    return ast.Function(op, [_walk(a) for a in node.get("args", [])
                             if not isinstance(a, list)] if isinstance(node.get("args"), list) else [])


def _logical(op: str, node: dict):
    args = [_walk(a) for a in _args(node)]
    if len(args) < 2:
        raise InvalidFilter(f"'{op}' needs at least two arguments")
    return (ast.And if op == "and" else ast.Or).from_items(*args)


def _like(op: str, node: dict):
    lhs, pattern = (_walk(a) for a in _args(node, 2))
    return ast.Like(lhs, pattern, nocase=False, wildcard="%", singlechar="_",
                    escapechar="\\", not_=False)


def _between(op: str, node: dict):
    args = _args(node)
    if len(args) == 2 and isinstance(args[1], list) and len(args[1]) == 2:
        args = [args[0], *args[1]]
    if len(args) != 3:
        raise InvalidFilter("'between' takes a value and two bounds")
    lhs, low, high = (_walk(a) for a in args)
    return ast.Between(lhs, low, high, not_=False)


def _in(op: str, node: dict):
    lhs, items = _args(node, 2)
    if not isinstance(items, list) or not items:
        raise InvalidFilter("the second argument of 'in' is a non-empty array")
    return ast.In(_walk(lhs), [_walk(i) for i in items], not_=False)


def _dwithin(op: str, node: dict):
    args = _args(node)
    if len(args) not in (3, 4) or not _is_number(args[2]):
        raise InvalidFilter("'s_dwithin' takes two geometries, a distance and a unit")
    units = args[3] if len(args) == 4 else "meters"
    return ast.DistanceWithin(_walk(args[0]), _walk(args[1]), distance=float(args[2]),
                              units=str(units).lower())


def _time_disjoint(node: dict):
    lhs, rhs = (_walk(a) for a in _args(node, 2))
    return ast.TimeDisjoint(lhs, rhs)


# Object kinds tried in this order, before a GeoJSON geometry and a function call.
_OBJECTS = (("op", _operation), ("property", _property),
            ("date", lambda node: parse_date(str(node["date"]))),
            ("timestamp", lambda node: parse_timestamp(str(node["timestamp"]))),
            ("interval", _interval), ("bbox", _bbox))
# Operators with their own reader; they win over the binary tables (t_intersects).
_OPERATIONS = {
    "and": _logical, "or": _logical,
    "not": lambda op, node: ast.Not(_walk(_args(node, 1)[0])),
    "isNull": lambda op, node: ast.IsNull(_walk(_args(node, 1)[0]), not_=False),
    "like": _like, "between": _between, "in": _in,
    "casei": lambda op, node: ast.Function(op, [_walk(_args(node, 1)[0])]),
    "accenti": lambda op, node: ast.Function(op, [_walk(_args(node, 1)[0])]),
    "s_dwithin": _dwithin,
    "t_intersects": lambda op, node: ast.Not(_time_disjoint(node)),
    "t_disjoint": lambda op, node: _time_disjoint(node),
}
_BINARY = {**COMPARISONS, **ARITHMETIC, **SPATIAL_PREDICATES_MAP, **TEMPORAL_PREDICATES_MAP}
