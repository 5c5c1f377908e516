"""What the draw-to-count panel adds to `within`: the breakdown of each layer's features
in the drawn area by their category (land use of parcels and zones, use of buildings,
class of roads: the registry style's category field), the part of each ward or commune
inside the area (the area of the intersection in EPSG:5899 metres, not the whole unit),
and the list of the features themselves for export.

The features are chosen exactly as `within` counts them (`expressions.selects`, the
units valid on the date), so the breakdown adds up to the counts."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from gisdb.model import METRIC_SRID
from layers.layer import Layer
from layers.registry import get_layer

from . import expressions as ex
from .inputs import QueryGeometry

WARD_LEVELS = ("ward", "commune")
MAX_FEATURES = 50_000          # an export of a drawn area; the area itself is bounded too


def category_field(layer: Layer) -> str | None:
    """The field a layer's features are broken down by (its style's categories)."""
    return layer.style.category_field


def breakdown_statement(layer: Layer, qg: QueryGeometry, clip, at: dt.date):
    """(layer, value, count) of the layer's features in the area per category value, or
    None when the layer has no categories."""
    name = category_field(layer)
    if name is None:
        return None
    t = layer.table
    value = sa.cast(t.c[name], sa.Text)
    return (sa.select(sa.literal(layer.id).label("layer"), value.label("value"),
                      sa.func.count().label("count"))
            .where(ex.selects(t.c.geom, qg, clip), *ex.valid_at(t, at)).group_by(value))


def ward_parts_statement(clip, at: dt.date):
    """Each ward or commune valid on `at` that meets the area: code, name, its whole area
    and the area of its part inside the drawn shape (m², EPSG:5899)."""
    units = get_layer("admin_units").table
    metric = sa.func.ST_Transform(units.c.geom, METRIC_SRID)
    part = sa.func.ST_Area(sa.func.ST_Intersection(metric, sa.func.ST_Transform(clip, METRIC_SRID)))
    return (sa.select(units.c.code, units.c.name, sa.func.ST_Area(metric).label("area_m2"),
                      part.label("inside_m2"))
            .where(units.c.level.in_(WARD_LEVELS), units.c.geom.op("&&")(clip),
                   sa.func.ST_Intersects(units.c.geom, clip), *ex.valid_at(units, at))
            .order_by(units.c.code))


def breakdowns(conn, layers: tuple[Layer, ...], qg: QueryGeometry, clip, at: dt.date,
               run) -> dict[str, list[dict]]:
    """layer id -> [{value, count}] (largest first); `run` executes a statement."""
    parts = [s for s in (breakdown_statement(layer, qg, clip, at) for layer in layers) if s is not None]
    out: dict[str, list[dict]] = {}
    if not parts:
        return out
    for row in run(sa.union_all(*parts)):
        out.setdefault(row.layer, []).append({"value": row.value, "count": int(row.count)})
    for rows in out.values():
        rows.sort(key=lambda r: (-r["count"], r["value"] or ""))
    return out


def ward_parts(clip, at: dt.date, run) -> list[dict]:
    """The wards' parts inside the area (see `ward_parts_statement`), with their share."""
    out = []
    for row in run(ward_parts_statement(clip, at)):
        whole, inside = float(row.area_m2 or 0), float(row.inside_m2 or 0)
        out.append({"code": row.code, "name": row.name, "inside_m2": round(inside, 1),
                    "area_m2": round(whole, 1),
                    "share": round(inside / whole, 4) if whole else 0.0})
    return out


def features_statement(layer: Layer, qg: QueryGeometry, clip, at: dt.date, limit: int):
    """The layer's features in the area: layer, id, label field, category and the
    measure inside the area (m² of polygons, m of lines, on the spheroid as `within`)."""
    t = layer.table
    label = sa.cast(t.c[layer.label_field], sa.Text) if layer.label_field else sa.null()
    name = category_field(layer)
    category = sa.cast(t.c[name], sa.Text) if name else sa.null()
    measure = ex.area_m2 if ex.is_area(layer) else ex.length_m if ex.is_line(layer) else None
    inside = (sa.case((sa.func.ST_CoveredBy(t.c.geom, clip), measure(t.c.geom)),
                      else_=measure(sa.func.ST_Intersection(t.c.geom, clip)))
              if measure else sa.null())
    inner = (sa.select(sa.literal(layer.id).label("layer"),
                       sa.cast(t.c[layer.id_column], sa.BigInteger).label("id"),
                       sa.cast(label, sa.Text).label("label"), sa.cast(category, sa.Text).label("category"),
                       sa.cast(inside, sa.Float).label("inside"))
             .where(ex.selects(t.c.geom, qg, clip), *ex.valid_at(t, at))
             .order_by(t.c[layer.id_column]).limit(limit)).subquery()
    return sa.select(inner)


def features(layers: tuple[Layer, ...], qg: QueryGeometry, clip, at: dt.date, run,
             limit: int = MAX_FEATURES) -> list[dict]:
    """Every feature of `layers` in the area (up to `limit` per layer), layer by layer."""
    stmt = sa.union_all(*(features_statement(layer, qg, clip, at, limit) for layer in layers))
    return [{"layer": r.layer, "id": int(r.id), "label": r.label, "category": r.category,
             "inside": None if r.inside is None else round(float(r.inside), 2)}
            for r in run(stmt)]
