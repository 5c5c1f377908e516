"""pygeofilter AST -> SQLAlchemy Core boolean expression over an allow-list of
columns. Every literal becomes a bound parameter typed after the column it meets;
property names and functions outside the allow-list are refused (InvalidFilter)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from pygeofilter import ast, values

from gisdb.crs import Crs
from gisdb.errors import InvalidFilter

from .literals import parse_instant, time_value
from .spatial import SPATIAL_FUNCTIONS, distance_within, geometry_literal
from .temporal import temporal_condition

MAX_DEPTH = 20
MAX_NODES = 200
GEOMETRY_NAMES = ("geometry", "geom")
UNITS = {"meters": 1.0, "metres": 1.0, "meter": 1.0, "m": 1.0,
         "kilometers": 1000.0, "kilometres": 1000.0, "km": 1000.0}
COMPARE = {ast.Equal: "__eq__", ast.NotEqual: "__ne__", ast.LessThan: "__lt__",
           ast.LessEqual: "__le__", ast.GreaterThan: "__gt__", ast.GreaterEqual: "__ge__"}
ARITH = {ast.Add: "__add__", ast.Sub: "__sub__", ast.Mul: "__mul__", ast.Div: "__truediv__"}


class Builder:
    """Walks one filter; counts nodes and depth as it goes."""

    def __init__(self, columns: dict[str, sa.ColumnElement], geometry: sa.ColumnElement,
                 crs: Crs):
        self.columns = columns
        self.geometry = geometry
        self.crs = crs
        self.nodes = 0

    def _count(self, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise InvalidFilter(f"the filter has more than {MAX_NODES} terms")
        if depth > MAX_DEPTH:
            raise InvalidFilter(f"the filter is nested more than {MAX_DEPTH} levels deep")

    # ---- conditions -------------------------------------------------------------
    def condition(self, node, depth: int = 0) -> sa.ColumnElement:
        self._count(depth)
        d = depth + 1
        if isinstance(node, ast.And):
            return sa.and_(self.condition(node.lhs, d), self.condition(node.rhs, d))
        if isinstance(node, ast.Or):
            return sa.or_(self.condition(node.lhs, d), self.condition(node.rhs, d))
        if isinstance(node, ast.Not):
            return sa.not_(self.condition(node.sub_node, d))
        if isinstance(node, ast.Include):
            return sa.false() if node.not_ else sa.true()
        if type(node) in COMPARE:
            lhs, rhs = self.pair(node.lhs, node.rhs, d)
            return getattr(lhs, COMPARE[type(node)])(rhs)
        if isinstance(node, ast.Like):
            return self.like(node, d)
        if isinstance(node, ast.Between):
            return self.between(node, d)
        if isinstance(node, ast.In):
            return self.in_list(node, d)
        if isinstance(node, ast.IsNull):
            lhs = self.scalar(node.lhs, d, allow_geometry=True)
            return lhs.is_not(None) if node.not_ else lhs.is_(None)
        if isinstance(node, ast.TemporalPredicate):
            return temporal_condition(node, self.time_operand)
        if isinstance(node, ast.DistanceWithin):
            return self.dwithin(node, d)
        if isinstance(node, ast.SpatialComparisonPredicate):
            fn = SPATIAL_FUNCTIONS[node.op.value]
            return fn(self.spatial(node.lhs, d), self.spatial(node.rhs, d))
        if isinstance(node, ast.BBox):
            env = values.Envelope(x1=node.minx, x2=node.maxx, y1=node.miny, y2=node.maxy)
            return sa.func.ST_Intersects(self.spatial(node.lhs, d), self.spatial(env, d))
        raise _not_a_condition(node)

    def between(self, node: ast.Between, depth: int) -> sa.ColumnElement:
        lhs = self.scalar(node.lhs, depth)
        low, high = self.bind(node.low, lhs, depth), self.bind(node.high, lhs, depth)
        expr = lhs.between(low, high)
        return sa.not_(expr) if node.not_ else expr

    def in_list(self, node: ast.In, depth: int) -> sa.ColumnElement:
        lhs = self.scalar(node.lhs, depth)
        if not node.sub_nodes:
            raise InvalidFilter("IN needs at least one value")
        items = []
        for item in node.sub_nodes:        # every listed value is a term
            self._count(depth)
            items.append(self.bind(item, lhs, depth))
        return lhs.not_in(items) if node.not_ else lhs.in_(items)

    def dwithin(self, node: ast.DistanceWithin, depth: int) -> sa.ColumnElement:
        factor = UNITS.get(node.units)
        if factor is None:
            raise InvalidFilter(f"unknown distance unit {node.units!r} (use meters)")
        metres = node.distance * factor
        if not 0 <= metres <= 1_000_000:
            raise InvalidFilter("the distance must be between 0 and 1,000,000 metres")
        return distance_within(self.spatial(node.lhs, depth), self.spatial(node.rhs, depth), metres)

    def like(self, node: ast.Like, depth: int) -> sa.ColumnElement:
        lhs = self.scalar(node.lhs, depth)
        if not isinstance(lhs.type, sa.String):
            lhs = sa.cast(lhs, sa.Text)
        pattern = node.pattern
        if isinstance(pattern, ast.Node):
            pattern_expr = self.scalar(pattern, depth)
        elif isinstance(pattern, str):
            if (len(pattern) - len(pattern.rstrip("\\"))) % 2:
                raise InvalidFilter("a LIKE pattern may not end with a lone escape character")
            pattern_expr = sa.literal(pattern, sa.Text)
        else:
            raise InvalidFilter("the pattern of LIKE is a string")
        expr = lhs.like(pattern_expr, escape="\\")
        return sa.not_(expr) if node.not_ else expr

    # ---- scalar operands ----------------------------------------------------------
    def pair(self, lhs_node, rhs_node, depth):
        """Both sides of a comparison; a literal side is typed after the other."""
        if _is_literal(lhs_node) and _is_literal(rhs_node):
            lhs = sa.literal(lhs_node)
            return lhs, self.bind(rhs_node, lhs, depth)
        if _is_literal(lhs_node):
            rhs = self.scalar(rhs_node, depth)
            return self.bind(lhs_node, rhs, depth), rhs
        lhs = self.scalar(lhs_node, depth)
        return lhs, self.bind(rhs_node, lhs, depth)

    def scalar(self, node, depth, *, allow_geometry=False) -> sa.ColumnElement:
        self._count(depth)
        if isinstance(node, ast.Attribute):
            return self.column(node.name, allow_geometry=allow_geometry)
        if isinstance(node, ast.Function):
            if node.name in ("casei", "lower") and len(node.arguments) == 1:
                return sa.func.lower(self.text_arg(node.arguments[0], depth))
            if node.name == "accenti" and len(node.arguments) == 1:
                return sa.func.unaccent(self.text_arg(node.arguments[0], depth))
            raise InvalidFilter(f"unknown function {node.name!r}")
        if type(node) in ARITH:
            lhs, rhs = self.pair(node.lhs, node.rhs, depth + 1)
            if not all(isinstance(x.type, sa.Numeric | sa.Integer) for x in (lhs, rhs)):
                raise InvalidFilter("arithmetic works on numbers only")
            if isinstance(node, ast.Div):
                rhs = sa.func.nullif(rhs, 0)
            return getattr(lhs, ARITH[type(node)])(rhs)
        if _is_literal(node):
            return sa.literal(node)
        raise InvalidFilter("expected a property, a value or CASEI/ACCENTI here")

    def text_arg(self, node, depth) -> sa.ColumnElement:
        if isinstance(node, str):
            return sa.literal(node, sa.Text)
        expr = self.scalar(node, depth + 1)
        return expr if isinstance(expr.type, sa.String) else sa.cast(expr, sa.Text)

    def column(self, name: str, *, allow_geometry=False) -> sa.ColumnElement:
        if name in self.columns:
            return self.columns[name]
        if allow_geometry and name in GEOMETRY_NAMES:
            return self.geometry
        raise InvalidFilter(f"unknown property {name[:64]!r}; see the collection's queryables")

    def bind(self, node, other: sa.ColumnElement, depth) -> sa.ColumnElement:
        """A literal typed after `other`, or another scalar expression."""
        if not _is_literal(node):
            return self.scalar(node, depth)
        return coerce_literal(node, other.type, name=other.key if isinstance(other, sa.Column) else None)

    # ---- temporal and spatial operands -------------------------------------------------
    def time_operand(self, node):
        """(start, end) of a temporal operand: a column twice, or Python values (None
        marks an open end), bound later against the column's type."""
        if isinstance(node, ast.Attribute):
            col = self.column(node.name)
            if not isinstance(col.type, sa.Date | sa.DateTime):
                raise InvalidFilter(f"property {node.name!r} is not a date or time")
            return col, col
        if isinstance(node, values.Interval):
            ends = (node.start, node.end)
            if not all(e is None or isinstance(e, dt.date) for e in ends):
                raise InvalidFilter("an interval end is a date, a timestamp or '..'")
            return ends
        if isinstance(node, str):
            node = parse_instant(node)
        if isinstance(node, dt.date):
            return node, node
        raise InvalidFilter("temporal operators compare a date/time property with a "
                            "DATE, TIMESTAMP or INTERVAL")

    def spatial(self, node, depth) -> sa.ColumnElement:
        self._count(depth)
        if isinstance(node, ast.Attribute):
            if node.name in GEOMETRY_NAMES:
                return self.geometry
            raise InvalidFilter(f"{node.name[:64]!r} is not the geometry; use 'geometry'")
        if isinstance(node, (values.Geometry, values.Envelope)):
            return geometry_literal(node, self.crs)
        raise InvalidFilter("spatial operators take the property 'geometry' and a geometry")


def _is_literal(node) -> bool:
    return isinstance(node, (str, int, float, bool, dt.date, Decimal))


def coerce_literal(value, type_: sa.types.TypeEngine, name: str | None = None) -> sa.ColumnElement:
    """`coerce_value` as a bound literal."""
    bound, bound_type = coerce_value(value, type_, name=name)
    return sa.literal(bound, bound_type)


TRUE_WORDS = ("true", "t", "yes", "1")
FALSE_WORDS = ("false", "f", "no", "0")


def _kind(type_: sa.types.TypeEngine) -> str:
    if isinstance(type_, sa.Boolean):
        return "true or false"
    if isinstance(type_, sa.Integer):
        return "a whole number"
    if isinstance(type_, sa.Numeric | sa.Float):
        return "a number"
    if isinstance(type_, sa.Date | sa.DateTime):
        return "a date (YYYY-MM-DD) or an RFC 3339 timestamp"
    return f"a {type(type_).__name__} value"


def coerce_value(value, type_: sa.types.TypeEngine, name: str | None = None) -> tuple:
    """(value, SQL type) that a column of `type_` can be compared with; InvalidFilter
    when the value cannot be one (so the database never sees a malformed literal).
    The one typing of filter values: CQL2 literals and equality parameters alike."""
    try:
        return _coerce(value, type_)
    except (InvalidFilter, ValueError, InvalidOperation, OverflowError):
        subject = f"{name}: " if name else ""
        raise InvalidFilter(f"{subject}{str(value)[:40]!r} is not {_kind(type_)}") from None


def _not_a_condition(node) -> InvalidFilter:
    """The error for a node that cannot stand as a condition."""
    if isinstance(node, ast.Function):
        return InvalidFilter(f"unknown function {node.name!r}")
    if isinstance(node, ast.Attribute):
        return InvalidFilter(f"property {node.name!r} is not a condition; compare it to a value")
    return InvalidFilter("this filter uses an operator that is not supported")


def _coerce(value, type_: sa.types.TypeEngine) -> tuple:
    for kind, coerce in _COERCERS:
        if isinstance(type_, kind):
            return coerce(value, type_)
    if isinstance(value, bool | int | float | str):
        return value, sa.literal(value).type
    raise ValueError(value)


def _as_boolean(value, type_) -> tuple:
    if isinstance(value, bool):
        return value, sa.Boolean()
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS, sa.Boolean()
    raise ValueError(value)


def _as_number(value, type_) -> tuple:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int) and isinstance(type_, sa.Integer):
        if abs(value) > 2 ** 63 - 1:
            raise ValueError(value)
        return value, sa.BigInteger()
    number = Decimal(str(value).strip())
    if not number.is_finite():
        raise ValueError(value)
    if isinstance(type_, sa.Integer) and number == number.to_integral_value() and abs(number) < 2 ** 63:
        return int(number), sa.BigInteger()
    return number, sa.Numeric()


def _as_time(value, type_) -> tuple:
    if isinstance(value, str):
        value = parse_instant(value)
    if not isinstance(value, dt.date):
        raise ValueError(value)
    return time_value(value, type_)


def _as_text(value, type_) -> tuple:
    if isinstance(value, bool):
        return ("true" if value else "false"), sa.Text()
    return str(value), sa.Text()


# Column types and how a value is typed for them, tried in this order.
_COERCERS = ((sa.Boolean, _as_boolean), (sa.Integer | sa.Numeric, _as_number),
             (sa.Date | sa.DateTime, _as_time), (sa.String, _as_text))
