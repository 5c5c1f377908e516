"""`--set COLUMN=EXPRESSION`: a value chosen per row by a tiny grammar, never `eval`.

    --set level=ward                                           a constant, as before
    --set "level=commune if name startswith 'Xã ' else ward"   chosen per row
    --set "kind=a if type = 'x' else b if type = 'y' else c"   conditions chain

Grammar (whitespace separates words; quotes keep spaces and case):

    value     := word [ "if" condition "else" value ]
    condition := field operator word
    operator  := "startswith" | "endswith" | "contains" | "=" | "!="
    word      := 'single quoted' | bare-word            (a literal; '' is a quote)
    field     := "double quoted" | bare-word            (a field of the file)

A value without a bare `if` is a constant, whatever it holds. Each condition compares the
field's trimmed text (NFC, as read) with the literal; a row matching none of them gets the
final `else` value. The SQL binds every literal, so nothing the user types becomes SQL."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa

from ..errors import InvalidParameter

OPERATORS = ("startswith", "endswith", "contains", "=", "!=")
_TOKEN = re.compile(r"""'((?:[^']|'')*)'|"([^"]*)"|(\S+)""")


@dataclass(frozen=True)
class Word:
    text: str
    quote: str                       # "'", '"' or "" (bare)


@dataclass(frozen=True)
class Case:
    field: str
    operator: str
    literal: str
    result: str


@dataclass(frozen=True)
class Choice:
    """`cases` tried in order, `default` when none matches."""

    cases: tuple[Case, ...]
    default: str


def _words(text: str) -> list[Word]:
    out = []
    for m in _TOKEN.finditer(text):
        if m.group(3) is not None:
            out.append(Word(m.group(3), ""))
        elif m.group(2) is not None:
            out.append(Word(m.group(2), '"'))
        else:
            out.append(Word(m.group(1).replace("''", "'"), "'"))
    return out


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def parse(column: str, text: str) -> Choice | None:
    """The expression in `text`, or None when it is a plain constant (no bare `if`)."""
    words = _words(text)
    if not any(w.quote == "" and w.text == "if" for w in words):
        return None
    cases = []
    rest = words
    while True:
        if len(rest) == 1:
            return Choice(tuple(cases), _nfc(rest[0].text))
        if len(rest) < 7 or rest[1] != Word("if", "") or rest[5] != Word("else", "") \
                or rest[3].quote or rest[3].text not in OPERATORS or rest[2].quote == "'":
            raise InvalidParameter(
                f"--set {column}=...: expected VALUE if FIELD OPERATOR 'TEXT' else VALUE "
                f"(operators: {', '.join(OPERATORS)}), got {text!r}")
        cases.append(Case(_nfc(rest[2].text), rest[3].text, _nfc(rest[4].text), _nfc(rest[0].text)))
        rest = rest[6:]


def condition(text, operator: str, literal: str):
    """SQL for `text OPERATOR literal`, the literal bound (never spelled into the SQL)."""
    value = sa.literal(literal, sa.Text)
    if operator == "startswith":
        return sa.func.left(text, sa.func.length(value)) == value
    if operator == "endswith":
        return sa.func.right(text, sa.func.length(value)) == value
    if operator == "contains":
        return sa.func.strpos(text, value) > 0
    if operator == "=":
        return text == value
    return text.is_distinct_from(value)
