"""Does a text value fit a column's type, and what is it once cast? As SQL expressions,
so that 200,000 rows are checked in one statement and a bad value never aborts it.

Each function returns `(fits, value)`: `fits` is true for castable text, `value` is the
cast, which the caller must guard with `CASE WHEN fits` so that it can never raise."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# BigInteger and SmallInteger subclass Integer: they come first so each finds its own range.
INT_RANGES = {sa.SmallInteger: (-32768, 32767), sa.BigInteger: (-9223372036854775808, 9223372036854775807),
              sa.Integer: (-2147483648, 2147483647)}
INTEGER_RE = r"^[-+]?[0-9]+(\.0*)?$"
DECIMAL_RE = r"^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$"
ISO_DATE_RE = r"^[0-9]{4}[-/][0-9]{2}[-/][0-9]{2}([ T].*)?$"     # GDAL's CSV writes 2025/01/03
VN_DATE_RE = r"^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}$"
TIME_PART_RE = r"^([ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?)?\s*(Z|[-+][0-9]{2}(:?[0-9]{2})?)?$"
TRUE_WORDS = ("true", "t", "yes", "y", "1", "có", "co", "x")
FALSE_WORDS = ("false", "f", "no", "n", "0", "không", "khong")
# The trace of Vietnamese letters lost to a wrong code page: a '?' between letters
# ("Tr??ng"), or ending a short word fragment that more words follow ("B? boi").
LOST_LETTERS_RE = r"[[:alpha:]]\?+[[:alpha:]]|(^|[^[:alpha:]])[[:alpha:]]{1,4}\?+\s+[[:alpha:]]"


def _match(text, pattern: str):
    return text.op("~")(sa.literal(pattern))


def integer(text, type_: sa.types.TypeEngine):
    low, high = next((r for k, r in INT_RANGES.items() if isinstance(type_, k)), INT_RANGES[sa.BigInteger])
    number = sa.cast(text, sa.Numeric)
    fits = sa.case((_match(text, INTEGER_RE), number.between(low, high)), else_=False)
    return fits, sa.cast(sa.func.trunc(number), type_)


def decimal(text, type_: sa.types.TypeEngine):
    precision = getattr(type_, "precision", None)
    scale = getattr(type_, "scale", None) or 0
    number = sa.cast(text, sa.Numeric)
    if precision and isinstance(type_, sa.Numeric) and not isinstance(type_, sa.Float):
        limit = sa.literal(10, sa.Numeric).op("^")(precision - scale)
        fits = sa.case((_match(text, DECIMAL_RE), sa.func.abs(sa.func.round(number, scale)) < limit),
                       else_=False)
    else:
        fits = sa.case((_match(text, DECIMAL_RE), sa.true()), else_=False)
    return fits, sa.cast(number, type_)


def _iso_date(text):
    """'2024-07-01...', GDAL's '2024/07/01...' or Vietnamese '1/7/2024' -> 'YYYY-MM-DD'
    text (unchecked)."""
    day_first = sa.func.concat(sa.func.split_part(text, "/", 3), "-",
                               sa.func.lpad(sa.func.split_part(text, "/", 2), 2, "0"), "-",
                               sa.func.lpad(sa.func.split_part(text, "/", 1), 2, "0"))
    return sa.case((_match(text, VN_DATE_RE), day_first),
                   else_=sa.func.replace(sa.func.substr(text, 1, 10), "/", "-"))


def _date_fits(iso):
    year = sa.cast(sa.func.substr(iso, 1, 4), sa.Integer)
    month = sa.cast(sa.func.substr(iso, 6, 2), sa.Integer)
    day = sa.cast(sa.func.substr(iso, 9, 2), sa.Integer)
    last = sa.func.extract("day", sa.func.make_date(year, month, 1)
                           + sa.literal_column("interval '1 month - 1 day'"))
    return sa.case((_match(iso, r"^[0-9]{4}-(0[1-9]|1[0-2])-[0-9]{2}$"),
                    sa.and_(year >= 1, day >= 1, day <= last)), else_=False)


def date(text, type_: sa.types.TypeEngine):
    iso = _iso_date(text)
    shape = sa.or_(_match(text, ISO_DATE_RE), _match(text, VN_DATE_RE))
    fits = sa.case((shape, _date_fits(iso)), else_=False)
    return fits, sa.cast(iso, sa.Date)


def datetime(text, type_: sa.types.TypeEngine):
    iso = _iso_date(text)
    rest = sa.func.substr(text, 11)
    shape = sa.case((_match(text, VN_DATE_RE), sa.true()),
                    (_match(text, ISO_DATE_RE), _match(rest, TIME_PART_RE)), else_=False)
    fits = sa.case((shape, _date_fits(iso)), else_=False)
    value = sa.case((_match(text, VN_DATE_RE), sa.cast(sa.cast(iso, sa.Date), type_)),
                    else_=sa.cast(text, type_))
    return fits, value


def _one_of(word, words: tuple[str, ...]):
    """`word = ANY(array)`: one bound array, not an expanding IN (whose values are only
    filled in at execution, which a statement compiled once and run by the driver lacks)."""
    return word == sa.any_(sa.literal(list(words), postgresql.ARRAY(sa.Text)))


def boolean(text, type_: sa.types.TypeEngine):
    word = sa.func.lower(text)
    fits = _one_of(word, TRUE_WORDS + FALSE_WORDS)
    return fits, sa.case((_one_of(word, TRUE_WORDS), sa.true()), (_one_of(word, FALSE_WORDS), sa.false()))


def textual(text, type_: sa.types.TypeEngine):
    """Text fits text as it is (NFC normalisation happens when reading, in Arrow)."""
    return sa.true(), text


def typed(text, type_: sa.types.TypeEngine):
    """(fits, value) for `text` cast to `type_`."""
    if isinstance(type_, sa.Boolean):
        return boolean(text, type_)
    if isinstance(type_, (sa.SmallInteger, sa.Integer, sa.BigInteger)):
        return integer(text, type_)
    if isinstance(type_, (sa.Numeric, sa.Float)):
        return decimal(text, type_)
    if isinstance(type_, sa.DateTime):
        return datetime(text, type_)
    if isinstance(type_, sa.Date):
        return date(text, type_)
    return textual(text, type_)


def _is_int(type_) -> bool:
    return isinstance(type_, (sa.SmallInteger, sa.Integer, sa.BigInteger))


def direct(source_type: sa.types.TypeEngine, type_: sa.types.TypeEngine):
    """Rules for a typed source column (numbers, booleans, dates from GeoPackage,
    Shapefile, FlatGeobuf) into a compatible column, without a detour through text:
    `(fits(value), convert(value))`, or None when only the text route applies."""
    if _is_int(source_type) and _is_int(type_):
        low, high = next((r for k, r in INT_RANGES.items() if isinstance(type_, k)),
                         INT_RANGES[sa.BigInteger])
        return (lambda v: v.between(low, high)), (lambda v: sa.cast(v, type_))
    numeric_source = _is_int(source_type) or isinstance(source_type, sa.Float)
    if numeric_source and isinstance(type_, sa.Numeric) and not isinstance(type_, sa.Float) \
            and getattr(type_, "precision", None):
        scale = type_.scale or 0
        limit = sa.literal(10, sa.Numeric).op("^")(type_.precision - scale)
        return ((lambda v: sa.func.abs(sa.func.round(sa.cast(v, sa.Numeric), scale)) < limit),
                (lambda v: sa.cast(v, type_)))
    if numeric_source and isinstance(type_, sa.Float):
        return (lambda v: v == v), (lambda v: sa.cast(v, type_))
    same = ((sa.Boolean, sa.Boolean), (sa.Date, sa.Date), (sa.DateTime, sa.DateTime))
    if any(isinstance(source_type, a) and isinstance(type_, b) and not isinstance(source_type, sa.DateTime)
           or isinstance(source_type, sa.DateTime) and b is sa.DateTime and isinstance(type_, sa.DateTime)
           for a, b in same):
        return (lambda v: sa.true()), (lambda v: sa.cast(v, type_))
    return None


def lost_letters(text):
    return sa.and_(sa.func.strpos(text, "?") > 0, _match(text, LOST_LETTERS_RE))
