"""Query parameters of `/collections/{id}/items`, parsed and validated once into a
small frozen dataclass. Unknown or repeated parameters are 400, never ignored."""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from gisdb import bbox, cql2
from gisdb.bbox import Box
from gisdb.crs import Crs, crs_from_uri
from gisdb.errors import InvalidParameter
from gisdb.temporal import AsOf, TimeRange, parse_as_of, parse_datetime
from layers.layer import Layer

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
MAX_OFFSET = 10_000_000
MAX_AFTER = 2 ** 63 - 1
FORMATS = {"json": "json", "geojson": "json", "html": "html"}
COMMON = ("f",)
ITEMS_PARAMS = ("limit", "offset", "after", "bbox", "bbox-crs", "crs", "properties", "sortby",
                "filter", "filter-lang", "filter-crs", "as_of")


@dataclass(frozen=True)
class ItemsQuery:
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    after: int | None = None                         # keyset: ids above this one (id order)
    bbox: Box | None = None
    bbox_crs: Crs = field(default_factory=lambda: crs_from_uri(None))
    crs: Crs = field(default_factory=lambda: crs_from_uri(None))
    time: TimeRange | None = None
    properties: tuple[str, ...] | None = None
    sortby: tuple[tuple[str, bool], ...] = ()        # (field, descending)
    filter: str | None = None
    filter_lang: str = "cql2-text"
    filter_crs: Crs = field(default_factory=lambda: crs_from_uri(None))
    equals: tuple[tuple[str, str], ...] = ()
    as_of: AsOf | None = None                        # the database as it was then
    pairs: tuple[tuple[str, str], ...] = ()          # the accepted parameters, sorted

    def query_string(self, **changes) -> str:
        """The normalised query (for links and ETags), with some values replaced."""
        values = dict(self.pairs)
        for key, value in changes.items():
            if value is None:
                values.pop(key, None)
            else:
                values[key] = str(value)
        return urlencode(sorted(values.items()))


def single_values(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Parameters as a dict; a parameter given twice is an error."""
    out: dict[str, str] = {}
    for key, value in pairs:
        if key in out:
            raise InvalidParameter(f"parameter {key!r} is given more than once")
        out[key] = value
    return out


def output_format(value: str | None, accept_html: bool) -> str:
    """'json' or 'html' from `f` (wins) or the Accept header."""
    if value is None or value == "":
        return "html" if accept_html else "json"
    fmt = FORMATS.get(value.lower())
    if fmt is None:
        raise InvalidParameter(f"f must be one of {', '.join(FORMATS)}")
    return fmt


def only_known(pairs: list[tuple[str, str]], allowed: tuple[str, ...]) -> dict[str, str]:
    values = single_values(pairs)
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise InvalidParameter(f"unknown parameter {unknown[0]!r}; allowed: {', '.join(allowed)}")
    return values


def _int(name: str, raw: str, low: int, high: int | None = None) -> int:
    try:
        value = int(raw.strip())
    except (ValueError, AttributeError):
        raise InvalidParameter(f"{name} must be a whole number, got {raw[:40]!r}") from None
    if value < low:
        raise InvalidParameter(f"{name} must be at least {low}")
    return min(value, high) if high is not None else value


def _after(values: dict[str, str]) -> int:
    """`after`, the keyset of the `next` links: the last id of the previous page, in the
    default (id) order only; combined with `offset` or `sortby` it would be ambiguous."""
    if "offset" in values or "sortby" in values:
        raise InvalidParameter("after pages in id order: it cannot be combined with offset or sortby")
    return _int("after", values["after"], 0, MAX_AFTER)


def parse_bbox(raw: str, crs: Crs) -> Box:
    """`bbox` in the axis order of `bbox-crs` (gisdb.bbox's parser; a CRS84 or EPSG:4326
    box may cross the antimeridian)."""
    return bbox.parse_bbox(raw, crs.srid, lat_first=crs.lat_first, antimeridian=True)


def _names(raw: str, allowed: set[str], what: str) -> list[str]:
    names = [n.strip() for n in raw.split(",") if n.strip()]
    for name in names:
        if name.lstrip("+-") not in allowed:
            raise InvalidParameter(f"{what}: unknown property {name[:64]!r}")
    return names


def parse_items_query(layer: Layer, pairs: list[tuple[str, str]]) -> ItemsQuery:
    """Validate every parameter of an items request for `layer`."""
    queryables = [f.name for f in layer.queryables]
    allowed = COMMON + ITEMS_PARAMS + (("datetime",) if layer.time_field else ()) + tuple(queryables)
    values = only_known(pairs, allowed)
    kw: dict = {}
    if "limit" in values:
        kw["limit"] = _int("limit", values["limit"], 1, MAX_LIMIT)
    if "offset" in values:
        kw["offset"] = _int("offset", values["offset"], 0)
        if kw["offset"] > MAX_OFFSET:
            raise InvalidParameter(f"offset must be at most {MAX_OFFSET}")
    if "after" in values:
        kw["after"] = _after(values)
    kw["bbox_crs"] = crs_from_uri(values.get("bbox-crs"), name="bbox-crs")
    if "bbox" in values:
        kw["bbox"] = parse_bbox(values["bbox"], kw["bbox_crs"])
    elif "bbox-crs" in values:
        raise InvalidParameter("bbox-crs is only meaningful with bbox")
    kw["crs"] = crs_from_uri(values.get("crs"), name="crs")
    if "datetime" in values:
        kw["time"] = parse_datetime(values["datetime"])
    kw["as_of"] = parse_as_of(values.get("as_of"))
    field_names = {f.name for f in layer.fields}
    if "properties" in values:      # empty: no attributes, only ids and geometries
        kw["properties"] = tuple(_names(values["properties"], field_names, "properties"))
    if "sortby" in values:
        names = _names(values["sortby"].replace(" ", "+"), set(queryables), "sortby")
        kw["sortby"] = tuple((n.lstrip("+-"), n.startswith("-")) for n in names)
    if "filter" in values:
        kw["filter"] = values["filter"]
        lang = values.get("filter-lang", "cql2-text")
        if lang not in cql2.LANGUAGES:
            raise InvalidParameter(f"filter-lang must be one of {', '.join(cql2.LANGUAGES)}")
        kw["filter_lang"] = lang
        kw["filter_crs"] = crs_from_uri(values.get("filter-crs"), name="filter-crs")
    elif "filter-lang" in values or "filter-crs" in values:
        raise InvalidParameter("filter-lang and filter-crs are only meaningful with filter")
    kw["equals"] = tuple(sorted((k, v) for k, v in values.items() if k in queryables))
    kw["pairs"] = tuple(sorted((k, v) for k, v in values.items() if k != "f"))
    return ItemsQuery(**kw)
