"""CQL2 temporal operators (Allen's interval relations) on a date/time property.

Each operand is a (start, end) pair; an instant has start = end, an open interval
end is None (minus or plus infinity), which resolves comparisons in Python."""
from __future__ import annotations

import sqlalchemy as sa
from pygeofilter import ast

from gisdb.errors import InvalidFilter

from .literals import time_bind

NEG, POS = "-inf", "+inf"


def _ends(pair):
    start, end = pair
    return (NEG if start is None else start), (POS if end is None else end)


def _cmp(a, op: str, b) -> sa.ColumnElement:
    """a <op> b where either side may be an infinity."""
    inf_a, inf_b = isinstance(a, str), isinstance(b, str)
    if inf_a or inf_b:
        rank = {NEG: -1, POS: 1}
        ra = rank[a] if inf_a else 0
        rb = rank[b] if inf_b else 0
        if inf_a and inf_b and a == b:
            result = op in ("=", "<=", ">=")
        else:
            result = {"<": ra < rb, ">": ra > rb, "=": False,
                      "<=": ra < rb, ">=": ra > rb}[op]
        return sa.true() if result else sa.false()
    return {"<": a < b, ">": a > b, "=": a == b, "<=": a <= b, ">=": a >= b}[op]


RELATIONS = {
    ast.TimeBefore: lambda a0, a1, b0, b1: _cmp(a1, "<", b0),
    ast.TimeAfter: lambda a0, a1, b0, b1: _cmp(a0, ">", b1),
    ast.TimeMeets: lambda a0, a1, b0, b1: _cmp(a1, "=", b0),
    ast.TimeMetBy: lambda a0, a1, b0, b1: _cmp(a0, "=", b1),
    ast.TimeOverlaps: lambda a0, a1, b0, b1: sa.and_(_cmp(a0, "<", b0), _cmp(b0, "<", a1),
                                                     _cmp(a1, "<", b1)),
    ast.TimeOverlappedBy: lambda a0, a1, b0, b1: sa.and_(_cmp(b0, "<", a0), _cmp(a0, "<", b1),
                                                         _cmp(b1, "<", a1)),
    ast.TimeBegins: lambda a0, a1, b0, b1: sa.and_(_cmp(a0, "=", b0), _cmp(a1, "<", b1)),
    ast.TimeBegunBy: lambda a0, a1, b0, b1: sa.and_(_cmp(a0, "=", b0), _cmp(a1, ">", b1)),
    ast.TimeDuring: lambda a0, a1, b0, b1: sa.and_(_cmp(a0, ">", b0), _cmp(a1, "<", b1)),
    ast.TimeContains: lambda a0, a1, b0, b1: sa.and_(_cmp(a0, "<", b0), _cmp(a1, ">", b1)),
    ast.TimeEnds: lambda a0, a1, b0, b1: sa.and_(_cmp(a0, ">", b0), _cmp(a1, "=", b1)),
    ast.TimeEndedBy: lambda a0, a1, b0, b1: sa.and_(_cmp(a0, "<", b0), _cmp(a1, "=", b1)),
    ast.TimeEquals: lambda a0, a1, b0, b1: sa.and_(_cmp(a0, "=", b0), _cmp(a1, "=", b1)),
    ast.TimeDisjoint: lambda a0, a1, b0, b1: sa.or_(_cmp(a1, "<", b0), _cmp(a0, ">", b1)),
}


def temporal_condition(node: ast.TemporalPredicate, operand) -> sa.ColumnElement:
    """SQL for one temporal predicate; `operand(node)` gives an operand's (start, end)."""
    relation = RELATIONS.get(type(node))
    if relation is None:
        raise InvalidFilter("this temporal operator is not supported")
    lhs, rhs = operand(node.lhs), operand(node.rhs)
    columns = [v for v in (*lhs, *rhs) if isinstance(v, sa.ColumnElement)]
    if not columns:
        raise InvalidFilter("a temporal operator needs a date/time property")
    column_type = columns[0].type
    bind = lambda v: v if v is None or isinstance(v, sa.ColumnElement) else time_bind(v, column_type)  # noqa: E731
    a0, a1 = _ends(tuple(bind(v) for v in lhs))
    b0, b1 = _ends(tuple(bind(v) for v in rhs))
    return relation(a0, a1, b0, b1)
