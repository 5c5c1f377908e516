"""One feature's versions, newest first, each with what it changed: {field: [old, new]}
for attributes, and for the geometry whether it changed and by how much (area for
polygons, length for lines, distance moved for points, in metres in EPSG:5899). A
delete is an entry of its own (op D), attributed from the change log."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from geoalchemy2 import functions as gf
from sqlalchemy.engine import Connection

from gisdb.errors import NotFound
from gisdb.model import METRIC_SRID

from .columns import compared_columns, geometry_column, key_column
from .tables import CHANGES, history_table

ATTRIBUTION = ("hist_actor", "hist_source", "hist_import_id", "hist_request_id", "hist_comment")


def _jsonable(value):
    """A column value as JSON writes it (numbers stay numbers, times ISO 8601)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _measure(geom: sa.ColumnElement, geometry_type: str) -> sa.ColumnElement | None:
    metric = gf.ST_Transform(geom, METRIC_SRID)
    if "POLYGON" in geometry_type:
        return gf.ST_Area(metric)
    if "LINE" in geometry_type:
        return gf.ST_Length(metric)
    return None


def _versions_query(table: sa.Table, fid: int) -> sa.Select:
    """Every version of the feature, oldest first, with the previous version's fields."""
    hist = history_table(table)
    order = (hist.c.hist_from, hist.c.hist_change_id)
    names = compared_columns(table)
    geom_name = geometry_column(table)
    cols = [hist.c[n] for n in names if n != geom_name]
    prev = [sa.func.lag(c).over(order_by=order).label("prev_" + c.name) for c in cols]
    extra = []
    if geom_name:
        geom = hist.c[geom_name]
        before = sa.func.lag(geom).over(order_by=order)
        extra.append(geom.is_distinct_from(before).label("geom_changed"))
        measure = _measure(geom, str(table.c[geom_name].type.geometry_type))
        if measure is not None:
            extra += [measure.label("measure"), sa.func.lag(measure).over(order_by=order).label("prev_measure")]
        else:
            moved = gf.ST_Distance(gf.ST_Transform(geom, METRIC_SRID), gf.ST_Transform(before, METRIC_SRID))
            extra.append(moved.label("moved"))
    return (sa.select(hist.c.hist_from, hist.c.hist_to, hist.c.hist_op, *[hist.c[a] for a in ATTRIBUTION],
                      *cols, *prev, *extra)
            .where(hist.c[key_column(table).name] == fid).order_by(*order))


def _geometry_change(row, geometry_type: str) -> dict | None:
    if not getattr(row, "geom_changed", False):
        return None
    out: dict = {"changed": True}
    if "POLYGON" in geometry_type:
        out["area_delta_m2"] = round((row.measure or 0) - (row.prev_measure or 0), 2)
    elif "LINE" in geometry_type:
        out["length_delta_m"] = round((row.measure or 0) - (row.prev_measure or 0), 2)
    elif row.moved is not None:
        out["moved_m"] = round(row.moved, 3)
    return out


def _version_entry(row, table: sa.Table) -> dict:
    geom_name = geometry_column(table)
    changes = {}
    for name in compared_columns(table):
        if name == geom_name:
            continue
        old, new = getattr(row, "prev_" + name), getattr(row, name)
        if old != new:          # a first version: every field that has a value
            changes[name] = [_jsonable(old), _jsonable(new)]
    if geom_name:
        geometry = _geometry_change(row, str(table.c[geom_name].type.geometry_type))
        if geometry:
            changes[geom_name] = geometry
    return {"from": _jsonable(row.hist_from), "to": _jsonable(row.hist_to), "op": row.hist_op,
            "actor": row.hist_actor, "source": row.hist_source, "import_id": row.hist_import_id,
            "request_id": row.hist_request_id, "comment": row.hist_comment, "changes": changes}


def _deletes(conn: Connection, layer_id: str, fid: int, ends: list[dt.datetime]) -> list[dict]:
    """The delete entries: the change-log rows (op D) at the ends of closed versions."""
    if not ends:
        return []
    rows = conn.execute(sa.select(CHANGES).where(
        CHANGES.c.at.in_(ends), CHANGES.c.layer == layer_id, CHANGES.c.feature_id == str(fid),
        CHANGES.c.op == "D"))
    return [{"from": _jsonable(r.at), "to": None, "op": "D", "actor": r.actor, "source": r.source,
             "import_id": r.import_id, "request_id": r.request_id, "comment": None, "changes": {}}
            for r in rows]


def feature_history(conn: Connection, table: sa.Table, layer_id: str, fid: int) -> list[dict]:
    """Every version of feature `fid` of `table` and its deletes, newest first;
    NotFound when the id never existed."""
    rows = conn.execute(_versions_query(table, fid)).all()
    if not rows:
        raise NotFound(f"no feature with id {fid} ever existed in {layer_id}")
    entries = [_version_entry(row, table) for row in rows]
    starts = {row.hist_from for row in rows}
    ends = [row.hist_to for row in rows if row.hist_to is not None and row.hist_to not in starts]
    entries += _deletes(conn, layer_id, fid, ends)
    entries.sort(key=lambda e: (e["from"], e["op"] != "D"), reverse=True)
    return entries
