"""SQL of an items request, built with SQLAlchemy Core: the WHERE clause (bbox,
datetime, equality parameters, CQL2 filter), the page (order, limit, offset, or the
keyset `after`: ids above the previous page's last, the `next` links' way) and
per-row GeoJSON from PostGIS (`ST_AsGeoJSON` of the row), in the requested CRS.

Values are named bound parameters kept apart from the statement, so a request
without a CQL2 filter reuses a statement built once per query shape (layer, CRS,
properties, sort, which parameters are present and their types): no expression tree
is rebuilt per request, and the SQL text stays the same for the driver to prepare."""
from __future__ import annotations

from functools import lru_cache
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by

from gisdb.bbox import box_wkb, storage_sql
from gisdb.crs import Crs, crs_from_uri
from gisdb.model import STORAGE_SRID
from layers import filter_rules
from layers.layer import Layer
from layers.registry import get_layer
from layers.time_travel import AS_OF, as_of_param, travel

from .params import ItemsQuery

JOIN_ROWS = 500     # features per row of a joined page
_JOINED: WeakKeyDictionary = WeakKeyDictionary()


def bind_values(layer: Layer, q: ItemsQuery, extra: int = 1) -> tuple[tuple, dict]:
    """(shape, values): the shape picks the statement, the values fill its parameters.
    Conversions that can fail (types of equality values) fail here, as a 400."""
    values: dict = {"page_limit": q.limit + extra, "page_offset": q.offset}
    shape: list = [layer.id, q.crs.uri, q.properties, q.sortby]
    if q.bbox is not None:
        values["bbox_wkb"] = box_wkb(q.bbox, q.bbox_crs.srid)
        shape.append(("bbox", q.bbox_crs.uri))
    if q.time is not None and layer.time_field:
        lower, upper = filter_rules.datetime_bounds(layer, q.time)
        if lower is not None:
            values["time_start"], type_ = lower
            shape.append(("time_start", _type_key(type_)))
        if upper is not None:
            values["time_end"], type_, op = upper
            shape.append(("time_end", _type_key(type_), op))
    for name, raw in q.equals:
        values["eq_" + name], type_ = filter_rules.equality_value(layer, name, raw)
        shape.append(("eq", name, _type_key(type_)))
    if q.as_of is not None:
        values[AS_OF] = q.as_of.at
        shape.append((AS_OF,))
    if q.after is not None:
        values["after_id"] = q.after
        shape.append((AFTER,))
    return tuple(shape), values


AFTER = "after"
FEATURE_PREFIX = '{"type": "Feature", "id": '


def feature_id(feature: str) -> int:
    """The id of a feature text built by `_features` (what a keyset `next` link names)."""
    return int(feature[len(FEATURE_PREFIX):].split(",", 1)[0])


def _type_key(type_: sa.types.TypeEngine) -> tuple:
    return type(type_), getattr(type_, "timezone", None)


def _type(key: tuple) -> sa.types.TypeEngine:
    """The bind type of a shape entry (a naive DateTime is UTC wall-clock time)."""
    type_cls, timezone = key
    return type_cls(timezone=bool(timezone)) if type_cls is sa.DateTime else type_cls()


def _shape_conditions(layer: Layer, shape: tuple) -> list[sa.ColumnElement]:
    t = layer.table
    conds = []
    for part in shape[4:]:
        kind = part[0]
        if kind == "bbox":
            wkb = sa.bindparam("bbox_wkb", type_=sa.LargeBinary)
            conds.append(sa.func.ST_Intersects(t.c.geom, storage_sql(wkb, crs_from_uri(part[1]).srid)))
        elif kind == "time_start":
            bound = sa.bindparam("time_start", type_=_type(part[1]))
            conds.append(filter_rules.time_condition(layer, bound, ">="))
        elif kind == "time_end":
            bound = sa.bindparam("time_end", type_=_type(part[1]))
            conds.append(filter_rules.time_condition(layer, bound, part[2]))
        elif kind == "eq":
            conds.append(layer.column(part[1]) == sa.bindparam("eq_" + part[1], type_=_type(part[2])))
    return conds


def output_geometry(column: sa.ColumnElement, crs: Crs) -> sa.ColumnElement:
    """The geometry in the requested CRS. Transformed geometries get SRID 0 so that
    PostGIS writes no legacy `crs` member into them: the CRS is the Content-Crs header."""
    geom = (column if crs.srid == STORAGE_SRID
            else sa.func.ST_SetSRID(sa.func.ST_Transform(column, crs.srid), 0))
    return sa.func.ST_FlipCoordinates(geom) if crs.lat_first else geom


def _property_columns(layer: Layer, properties) -> list[sa.Column]:
    names = properties if properties is not None else [f.name for f in layer.fields]
    return [layer.column(n) for n in names]


def _order_by(layer: Layer, sortby, has_bbox: bool) -> list:
    """Sort keys, then the id (stable pages). With a bbox the id is sorted as `id + 0`:
    otherwise the planner walks the primary key hoping to meet the box early, which
    on a big table costs seconds for a small page (a GiST scan and a top-N sort of
    the box's rows is the fast plan)."""
    keys = [layer.column(name).desc() if desc else layer.column(name).asc()
            for name, desc in sortby]
    id_col = layer.table.c[layer.id_column]
    return keys + [id_col + 0 if has_bbox else id_col]


def _features(layer: Layer, shape: tuple, conds: list) -> sa.Select:
    """One text column per row: a GeoJSON Feature with a top-level `id`. The page is
    cut in an inner query so transforms and JSON run on the page rows only."""
    _, crs_uri, properties, sortby = shape[:4]
    crs = crs_from_uri(crs_uri)
    t = layer.table
    has_bbox = any(part[0] == "bbox" for part in shape[4:])
    props = _property_columns(layer, properties)
    ident = t.c[layer.id_column]
    if (AFTER,) in shape:         # keyset: the index walk starts past the last id
        conds = [*conds, ident > sa.bindparam("after_id", type_=sa.BigInteger)]
    page = (sa.select(ident.label("id"), *props, t.c.geom)
            .where(*conds).order_by(*_order_by(layer, sortby, has_bbox))
            .limit(sa.bindparam("page_limit", type_=sa.Integer))
            .offset(sa.bindparam("page_offset", type_=sa.Integer)).subquery("p"))
    shaped = sa.select(page.c.id, *[page.c[c.name] for c in props],
                       output_geometry(page.c.geom, crs).label("geom")).subquery("f")
    feature = (sa.literal(FEATURE_PREFIX, sa.Text)
               .concat(sa.cast(shaped.c.id, sa.Text))
               .concat(sa.func.substr(sa.func.ST_AsGeoJSON(shaped.table_valued(), "geom",
                                                            crs.decimals), 19)))
    return sa.select(feature.label("feature"))


def _statements(layer: Layer, shape: tuple, conds: list) -> tuple[sa.Select, sa.Select]:
    """(features, count); with `as_of` in the shape, both read the layer's versions at
    the bound instant instead of the table (layers.time_travel)."""
    features, count = _features(layer, shape, conds), count_statement(layer, conds)
    if (AS_OF,) in shape:
        features, count = travel(features, as_of_param()), travel(count, as_of_param())
    return features, count


@lru_cache(maxsize=512)
def _cached(shape: tuple) -> tuple[sa.Select, sa.Select]:
    layer = get_layer(shape[0])
    return _statements(layer, shape, _shape_conditions(layer, shape))


def page_statements(layer: Layer, q: ItemsQuery, *, extra: int = 1,
                    where: list | None = None) -> tuple[sa.Select, sa.Select, dict]:
    """(features, count, values) of a page. `extra` more rows are read to learn whether
    a next page exists; `where` adds conditions (e.g. the feature id)."""
    shape, values = bind_values(layer, q, extra)
    if q.filter is None and not where:
        features, count = _cached(shape)
        return features, count, values
    conds = _shape_conditions(layer, shape) + list(where or [])
    if q.filter is not None:
        conds.append(filter_rules.cql2_clause(layer, q.filter, q.filter_lang, q.filter_crs))
    return (*_statements(layer, shape, conds), values)


def joined_page(features: sa.Select) -> sa.Select:
    """The page's features joined into GeoJSON text by PostgreSQL, `JOIN_ROWS` per row,
    as UTF-8 bytes (read with the `binary_results` option: no text decoding and
    re-encoding in Python). Rows (`part`, `n`, `body`) in page order; the look-ahead
    row beyond `page_rows` (which says a next page exists) comes last, alone, with a
    NULL `part`. Kept per statement while it lives: the cached shapes (`_cached`) build
    it once, a filtered request's statement takes its own away with it."""
    joined = _JOINED.get(features)
    if joined is None:
        joined = _JOINED[features] = _joined(features)
    return joined


def _joined(features: sa.Select) -> sa.Select:
    inner = features.subquery("pf")
    numbered = sa.select(inner.c.feature, sa.func.row_number().over().label("rn")).subquery("pn")
    part = sa.case((numbered.c.rn > sa.bindparam("page_rows", type_=sa.Integer), sa.null()),
                   else_=(numbered.c.rn - 1).self_group().op("/")(JOIN_ROWS))
    text = sa.func.string_agg(numbered.c.feature, aggregate_order_by(sa.literal_column("','"), numbered.c.rn))
    body = sa.func.convert_to(text, sa.literal_column("'UTF8'"), type_=sa.LargeBinary)
    return (sa.select(part.label("part"), sa.func.count().label("n"), body.label("body"))
            .group_by(part).order_by(part.asc().nulls_last()))


def count_statement(layer: Layer, conds: list) -> sa.Select:
    return sa.select(sa.func.count()).select_from(layer.table).where(*conds)
