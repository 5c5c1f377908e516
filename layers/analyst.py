"""The Python API for analysts (notebooks, the city's data team): the layers and the
analyses as GeoPandas GeoDataFrames, read through the same rules as the web API.

    from layers import analyst
    buildings = analyst.layer("buildings", bbox=(108.20, 16.04, 108.22, 16.06),
                              filter="floors > 5", as_of="2026-01-01")
    buildings.to_crs(5899).area                    # m², VN-2000 / TM-3 107-45
    for chunk in analyst.layer("parcels", chunksize=50_000):   # streamed
        ...

A layer is read with the feature API's filter rules (`layers.filter_rules`: CQL2 text or
JSON over the queryables, the box in any supported CRS), and its time travel
(`layers.time_travel`); with `chunksize` rows come through a server-side cursor, so
memory stays flat however large the layer. The connection is the configured database's
(the environment, as for `gisdb`), as the web's read role; `connect` chooses another.
GeoPandas comes with the `analyst` extra (`pip install 'danang-gisdb[analyst]'`)."""
from __future__ import annotations

import datetime as dt
import threading
from typing import Iterator

import sqlalchemy as sa

from gisdb.bbox import box_condition, parse_bbox
from gisdb.engine import db_errors, make_engine
from gisdb.errors import InvalidParameter, NotFound
from gisdb.model import STORAGE_SRID
from gisdb.settings import Settings
from gisdb.temporal import parse_as_of

from .filter_rules import cql2_clause
from .planning.impact import corridor_impact
from .planning.reports import ward_report as unit_ward_report
from .planning.rules import RULES
from .registry import get_layer
from .time_travel import as_of_statement

_state: dict = {}
_lock = threading.Lock()


def connect(url: str | None = None, *, settings: Settings | None = None) -> sa.Engine:
    """Use the database at `url` (or of `settings`; default: the environment's, as the
    read role) for the calls that follow; returns its engine."""
    settings = settings or Settings.from_env()
    if url:
        settings = settings.with_database(url)
    else:
        settings = settings.for_web()
    engine = make_engine(settings, timeout_ms=settings.import_statement_timeout_ms,
                         application_name="gisdb-analyst", pool_size=2)
    with _lock:
        old, _state["engine"] = _state.get("engine"), engine
    if old is not None:
        old.dispose()
    return engine


def _engine() -> sa.Engine:
    with _lock:
        found = _state.get("engine")
    return found if found is not None else connect()


def _box(bbox) -> str:
    """A box given as a sequence of 4 numbers or as `minx,miny,maxx,maxy` text."""
    return bbox if isinstance(bbox, str) else ",".join(str(v) for v in bbox)


def _instant(as_of) -> dt.datetime | None:
    """`as_of` as a date, a datetime (naive: UTC) or RFC 3339 text; None for now."""
    if as_of is None:
        return None
    if isinstance(as_of, dt.datetime):
        return as_of if as_of.tzinfo else as_of.replace(tzinfo=dt.timezone.utc)
    if isinstance(as_of, dt.date):
        as_of = as_of.isoformat()
    found = parse_as_of(str(as_of))
    return None if found is None else found.at


def layer_statement(name: str, *, bbox=None, bbox_crs: int = STORAGE_SRID, filter=None,
                    filter_lang: str = "cql2-text", as_of=None) -> sa.Select:
    """The statement `layer` runs: id, the layer's fields and the WKB geometry, by id."""
    lyr = get_layer(name)
    t = lyr.table
    columns = [t.c[lyr.id_column].label("id"), *(t.c[f.name] for f in lyr.fields),
               sa.func.ST_AsBinary(t.c.geom).label("geometry")]
    stmt = sa.select(*columns).order_by(t.c[lyr.id_column])
    if bbox is not None:
        stmt = stmt.where(box_condition(t.c.geom, parse_bbox(_box(bbox), bbox_crs), bbox_crs))
    clause = cql2_clause(lyr, filter, filter_lang)
    if clause is not None:
        stmt = stmt.where(clause)
    return as_of_statement(stmt, _instant(as_of))


def _frame(rows, keys):
    """A GeoDataFrame in EPSG:4326 of rows whose last column is WKB."""
    import geopandas
    import pandas
    import shapely

    # plain tuples: pandas probes each Row for namedtuple fields, a slow key lookup
    frame = pandas.DataFrame.from_records([tuple(row) for row in rows], columns=list(keys))
    geometry = shapely.from_wkb(frame.pop("geometry").to_numpy())
    return geopandas.GeoDataFrame(frame, geometry=geometry, crs=f"EPSG:{STORAGE_SRID}")


def layer(name: str, bbox=None, filter=None, as_of=None, chunksize: int | None = None, *,
          bbox_crs: int = STORAGE_SRID, filter_lang: str = "cql2-text"):
    """The features of layer `name` as a GeoDataFrame (EPSG:4326), or with `chunksize`
    an iterator of GeoDataFrames of at most that many rows, streamed.

    `bbox`: (minx, miny, maxx, maxy) in `bbox_crs` (an EPSG code); `filter`: CQL2 over
    the layer's queryables; `as_of`: the layer as it was then (date, datetime or text)."""
    stmt = layer_statement(name, bbox=bbox, bbox_crs=bbox_crs, filter=filter,
                           filter_lang=filter_lang, as_of=as_of)
    if chunksize is not None:
        if isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1:
            raise InvalidParameter("chunksize must be a positive integer")
        return _chunks(stmt, chunksize)
    with db_errors(), _engine().connect() as conn:
        result = conn.execute(stmt)
        return _frame(result.all(), result.keys())


def _chunks(stmt: sa.Select, size: int) -> Iterator:
    """GeoDataFrames of `size` rows from a server-side cursor."""
    with db_errors(), _engine().connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=size).execute(stmt)
        keys = result.keys()
        for rows in result.partitions(size):
            yield _frame(rows, keys)


def frame_of(stmt: sa.Select):
    """Any statement whose last column is a WKB `geometry` as a GeoDataFrame (the
    analyses' results)."""
    with db_errors(), _engine().connect() as conn:
        result = conn.execute(stmt)
        return _frame(result.all(), result.keys())



def check(rule_id: str, ward: str | None = None):
    """The features breaking the planning rule `rule_id` (in `ward` when given) as a
    GeoDataFrame (EPSG:4326): feature_id, measured, limit_value, excess, unit, ward_code."""
    rule = RULES.get(rule_id)
    if rule is None:
        raise NotFound(f"no rule named {str(rule_id)[:64]!r}")
    found = rule.select(ward).subquery()
    return frame_of(sa.select(*(c for c in found.c if c.name != "geom"),
                              sa.func.ST_AsBinary(found.c.geom).label("geometry")))


def impact(road: str | int | None = None, width_m: float | None = None, corridor=None,
           at_date: dt.date | None = None):
    """The parcels and buildings a road widening (`road`, `width_m`) or a drawn
    `corridor` affects (layers.planning.impact), as a GeoDataFrame (EPSG:4326) with the
    affected area and share of each."""
    import geopandas
    with db_errors(), _engine().connect() as conn:
        result = corridor_impact(conn, road=road, width_m=width_m, corridor=corridor,
                                 at_date=at_date)
    return geopandas.GeoDataFrame.from_features(result.feature_collection(),
                                                crs=f"EPSG:{STORAGE_SRID}")


def ward_report(code: str) -> dict:
    """The figures of a ward's report (layers.planning.reports), as `/reports/ward/{code}`."""
    with db_errors(), _engine().connect() as conn:
        return unit_ward_report(conn, code)
