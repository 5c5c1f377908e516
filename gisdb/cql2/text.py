"""CQL2 text -> pygeofilter AST, with our own LALR grammar (`grammar.lark`).

pygeofilter's bundled cql2-text grammar predates the final standard (temporal
operators are infix there, `''` escapes and `S_DWITHIN` are missing), so the text
form is parsed here into the same AST nodes its cql2-json parser produces."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lark import Lark, Transformer, v_args
from lark.exceptions import LarkError, VisitError
from pygeofilter import ast, values
from pygeofilter.cql2 import SPATIAL_PREDICATES_MAP, TEMPORAL_PREDICATES_MAP

from gisdb.errors import InvalidFilter

from .literals import parse_date, parse_instant, parse_timestamp

COMPARISONS = {"=": ast.Equal, "<>": ast.NotEqual, "<": ast.LessThan, "<=": ast.LessEqual,
               ">": ast.GreaterThan, ">=": ast.GreaterEqual}
TEMPORAL = {**TEMPORAL_PREDICATES_MAP, "t_intersects": None, "t_disjoint": ast.TimeDisjoint}
MAX_NESTING = 40


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = (Path(__file__).with_name("grammar.lark")).read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", maybe_placeholders=False)


def _like(lhs, pattern, not_=False):
    return ast.Like(lhs, pattern, nocase=False, wildcard="%", singlechar="_",
                    escapechar="\\", not_=not_)


@v_args(inline=True)
class _ToAst(Transformer):
    """Lark tree -> pygeofilter nodes (values are Python objects, never SQL)."""

    def or_(self, a, b):
        return ast.Or(a, b)

    def and_(self, a, b):
        return ast.And(a, b)

    def not_(self, a):
        return ast.Not(a)

    def bool_predicate(self, token):
        return ast.Include(not_=str(token).lower() != "true")

    def comparison(self, lhs, op, rhs):
        return COMPARISONS[str(op)](lhs, rhs)

    def like(self, lhs, pattern):
        return _like(lhs, pattern)

    def not_like(self, lhs, pattern):
        return _like(lhs, pattern, True)

    def between(self, lhs, low, high):
        return ast.Between(lhs, low, high, not_=False)

    def not_between(self, lhs, low, high):
        return ast.Between(lhs, low, high, not_=True)

    def in_(self, lhs, *items):
        return ast.In(lhs, list(items), not_=False)

    def not_in(self, lhs, *items):
        return ast.In(lhs, list(items), not_=True)

    def is_null(self, lhs):
        return ast.IsNull(lhs, not_=False)

    def is_not_null(self, lhs):
        return ast.IsNull(lhs, not_=True)

    def spatial(self, op, lhs, rhs):
        return SPATIAL_PREDICATES_MAP[str(op).lower()](lhs, rhs)

    def dwithin(self, _op, lhs, rhs, distance, units="meters"):
        return ast.DistanceWithin(lhs, rhs, distance=float(distance), units=str(units).lower())

    def temporal(self, op, lhs, rhs):
        name = str(op).lower()
        if name == "t_intersects":
            return ast.Not(ast.TimeDisjoint(lhs, rhs))
        return TEMPORAL[name](lhs, rhs)

    def add(self, a, b):
        return ast.Add(a, b)

    def sub(self, a, b):
        return ast.Sub(a, b)

    def mul(self, a, b):
        return ast.Mul(a, b)

    def div(self, a, b):
        return ast.Div(a, b)

    def signed_number(self, token):
        text = str(token)
        return float(text) if any(c in text for c in ".eE") else int(text)

    def negative(self, token):
        return -self.signed_number(token)

    def string(self, token):
        return str(token)[1:-1].replace("''", "'")

    def boolean(self, token):
        return str(token).lower() == "true"

    def date(self, token):
        return parse_date(self.string(token))

    def timestamp(self, token):
        return parse_timestamp(self.string(token))

    def interval(self, start, end):
        return values.Interval(_bound(start), _bound(end))

    def function(self, name, *args):
        return ast.Function(str(name).lower(), list(args))

    def property(self, token):
        return ast.Attribute(str(token))

    def quoted_property(self, token):
        return ast.Attribute(str(token)[1:-1])

    def coord(self, *numbers):
        return [float(n) for n in numbers]

    def ring(self, *coords):
        return list(coords)

    def rings(self, *rings):
        return list(rings)

    def point(self, coord):
        return values.Geometry({"type": "Point", "coordinates": coord})

    def linestring(self, ring):
        return values.Geometry({"type": "LineString", "coordinates": ring})

    def polygon(self, rings):
        return values.Geometry({"type": "Polygon", "coordinates": rings})

    def multipoint(self, *points):
        return values.Geometry({"type": "MultiPoint", "coordinates": list(points)})

    def multilinestring(self, rings):
        return values.Geometry({"type": "MultiLineString", "coordinates": rings})

    def multipolygon(self, *polygons):
        return values.Geometry({"type": "MultiPolygon", "coordinates": list(polygons)})

    def bbox(self, minx, miny, maxx, maxy):
        return values.Envelope(x1=float(minx), x2=float(maxx), y1=float(miny), y2=float(maxy))


def _bound(value):
    """An interval end: '..' (open), a date or a timestamp."""
    if isinstance(value, str):
        return None if value in ("..", "") else parse_instant(value)
    return value


def _check_nesting(text: str) -> None:
    """Reject filters nested deeper than MAX_NESTING before the recursive transform."""
    depth = 0
    in_string = False
    for ch in text:
        if ch == "'":
            in_string = not in_string
        elif not in_string and ch == "(":
            depth += 1
            if depth > MAX_NESTING:
                raise InvalidFilter(f"the filter is nested more than {MAX_NESTING} levels deep")
        elif not in_string and ch == ")":
            depth -= 1


def parse_text(text: str):
    """A CQL2 text filter as a pygeofilter AST; InvalidFilter when it is not CQL2."""
    _check_nesting(text)
    try:
        tree = _parser().parse(text)
        return _ToAst().transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, InvalidFilter):
            raise exc.orig_exc from None
        raise InvalidFilter("the filter could not be read as CQL2 text") from None
    except LarkError as exc:
        where = getattr(exc, "column", None)
        hint = f" near character {where}" if isinstance(where, int) and where > 0 else ""
        raise InvalidFilter(f"the filter is not valid CQL2 text{hint}") from None
