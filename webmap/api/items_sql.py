"""SQL of an items request, built with SQLAlchemy Core: the WHERE clause (bbox,
datetime, equality parameters, CQL2 filter), the page (order, limit, offset) and
per-row GeoJSON from PostGIS (`ST_AsGeoJSON` of the row), in the requested CRS."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from gisdb import cql2
from gisdb.crs import Crs
from gisdb.cql2.literals import time_bind
from gisdb.cql2.to_sql import coerce_literal
from layers.layer import Layer

from .params import ItemsQuery, TimeRange

STORAGE_SRID = 4326


def queryable_columns(layer: Layer) -> dict[str, sa.ColumnElement]:
    """The allow-list that filters, sorting and equality parameters may name."""
    return {f.name: layer.column(f.name) for f in layer.queryables}


def envelope(bbox: tuple[float, float, float, float], crs: Crs) -> sa.ColumnElement:
    """The bbox as a storage-CRS polygon (bound values; transformed when needed)."""
    minx, miny, maxx, maxy = bbox
    env = sa.func.ST_MakeEnvelope(minx, miny, maxx, maxy, crs.srid)
    if crs.srid != STORAGE_SRID:
        env = sa.func.ST_Transform(sa.func.ST_Segmentize(env, _segment(crs)), STORAGE_SRID)
    return env


def _segment(crs: Crs) -> float:
    return 0.01 if crs.srid in (4326, 4756) else 1000.0


def time_condition(time: TimeRange, column: sa.ColumnElement) -> sa.ColumnElement:
    """`datetime` on the layer's time column; a bare date as the upper end of an
    interval (or an instant) on a timestamp column covers that whole UTC day."""
    whole_day = isinstance(column.type, sa.DateTime)
    conds = []
    if time.start is not None:
        conds.append(column >= time_bind(time.start, column.type))
    if time.end is not None:
        end = time.end
        if whole_day and not isinstance(end, dt.datetime):
            conds.append(column < time_bind(end + dt.timedelta(days=1), column.type))
        else:
            conds.append(column <= time_bind(end, column.type))
    return sa.and_(*conds)


def where_clauses(layer: Layer, q: ItemsQuery) -> list[sa.ColumnElement]:
    t = layer.table
    conds: list[sa.ColumnElement] = []
    if q.bbox is not None:
        conds.append(sa.func.ST_Intersects(t.c.geom, envelope(q.bbox, q.bbox_crs)))
    if q.time is not None and layer.time_field:
        conds.append(time_condition(q.time, layer.column(layer.time_field)))
    for name, value in q.equals:
        column = layer.column(name)
        conds.append(column == coerce_literal(value, column.type))
    if q.filter is not None:
        conds.append(cql2.to_expression(q.filter, q.filter_lang, queryable_columns(layer),
                                        t.c.geom, filter_crs=q.filter_crs))
    return conds


def output_geometry(column: sa.ColumnElement, crs: Crs) -> sa.ColumnElement:
    geom = column if crs.srid == STORAGE_SRID else sa.func.ST_Transform(column, crs.srid)
    return sa.func.ST_FlipCoordinates(geom) if crs.lat_first else geom


def property_columns(layer: Layer, q: ItemsQuery) -> list[sa.Column]:
    names = q.properties if q.properties is not None else [f.name for f in layer.fields]
    return [layer.column(n) for n in names]


def order_by(layer: Layer, q: ItemsQuery) -> list:
    """Sort keys, then the id (stable pages). With a bbox the id is sorted as `id + 0`:
    otherwise the planner walks the primary key hoping to meet the box early, which
    on a big table costs seconds for a small page (a GiST scan and a top-N sort of
    the box's rows is the fast plan)."""
    t = layer.table
    keys = [layer.column(name).desc() if desc else layer.column(name).asc()
            for name, desc in q.sortby]
    id_col = t.c[layer.id_column]
    return keys + [id_col + 0 if q.bbox is not None else id_col]


def features_statement(layer: Layer, q: ItemsQuery, conds: list, *, extra: int = 1) -> sa.Select:
    """One text column per row: a GeoJSON Feature with a top-level `id`. The page is
    cut in an inner query so transforms and JSON run on the page rows only; `extra`
    more rows are read to learn whether a next page exists."""
    t = layer.table
    id_col = t.c[layer.id_column]
    page = (sa.select(id_col.label("id"), *property_columns(layer, q), t.c.geom)
            .where(*conds).order_by(*order_by(layer, q))
            .limit(q.limit + extra).offset(q.offset).subquery("p"))
    prop_cols = [page.c[c.name] for c in property_columns(layer, q)]
    shaped = sa.select(page.c.id, *prop_cols,
                       output_geometry(page.c.geom, q.crs).label("geom")).subquery("f")
    feature = (sa.literal('{"type": "Feature", "id": ', sa.Text)
               .concat(sa.cast(shaped.c.id, sa.Text))
               .concat(sa.func.substr(sa.func.ST_AsGeoJSON(shaped.table_valued(), "geom",
                                                            q.crs.decimals), 19)))
    return sa.select(feature.label("feature"))


def count_statement(layer: Layer, conds: list) -> sa.Select:
    return sa.select(sa.func.count()).select_from(layer.table).where(*conds)
