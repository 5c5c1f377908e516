"""Search for the map's search box and other systems: parcel numbers ("tờ 12 thửa 345",
"12/345", with or without the ward), street names (roads grouped by name), ward and
district names, project names and the other layers' search fields.

Matching ignores Vietnamese diacritics and case through `meta.fold(text)` (lower +
unaccent), on both sides; each search field has an expression index on `meta.fold(col)`
(migration 0003: trigram GIN for names, text_pattern_ops btree for codes), so a search
stays fast at a million features. Ranking: exact, prefix, word prefix, contains, then
trigram word similarity."""
from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gisdb.engine import db_errors
from gisdb.errors import InvalidParameter
from layers.layer import Layer
from layers.queries import expressions as ex
from layers.registry import get_layer, source_layers

MAX_QUERY_CHARS = 100
MAX_LIMIT = 50
MIN_CHARS = 2
CANDIDATES = 200         # matches ranked per field (see _field_select)
SHORT_QUERY = 3          # below this, only prefix matching (trigrams need 3 characters)
PARCEL_NUMBER_FIELDS = ("ward_code", "sheet_no", "parcel_no")
KIND_PRIORITY = {"ward": 0, "commune": 0, "district": 1, "city": 1, "street": 2, "project": 3,
                 "parcel": 4}

_NUM = r"(\d{1,9})"
PARCEL_PATTERNS = (
    re.compile(r"\bto(?: ban do)?\s*(?:so\s*)?" + _NUM + r"\W*\s*thua\s*(?:so\s*)?" + _NUM + r"\b"),
    re.compile(r"\bthua\s*(?:so\s*)?" + _NUM + r"\W*\s*to(?: ban do)?\s*(?:so\s*)?" + _NUM + r"\b"),
    re.compile(r"\bsheet\s*" + _NUM + r"\W*\s*parcel\s*" + _NUM + r"\b"),
    re.compile(r"(?<![\d/])" + _NUM + r"\s*/\s*" + _NUM + r"(?![\d/])"),
)
REVERSED = 1             # index of the pattern that names the parcel before the sheet
WARD_WORDS = re.compile(r"\b(phuong|xa|p\.|x\.|ward|commune)\s*")


@dataclass(frozen=True)
class SearchField:
    name: str
    kind: str            # "text" (names: trigram) or "code" (codes: exact or prefix)


def search_fields(layer: Layer) -> tuple[SearchField, ...]:
    """The text search fields of a layer, and how each is matched. A parcel's ward,
    sheet and parcel numbers are searched as a parcel number instead."""
    out = []
    for name in layer.search_fields:
        if layer.id == "parcels" and name in PARCEL_NUMBER_FIELDS:
            continue
        column = layer.table.c[name]
        if not isinstance(column.type, sa.String):
            continue
        is_code = name == "code" or name.endswith(("_code", "_no"))
        out.append(SearchField(name, "code" if is_code else "text"))
    return tuple(out)


def kind_of(layer: Layer, level: str | None = None) -> str:
    """What a result is, for the map's list: ward, district, street, parcel, project..."""
    if layer.id == "admin_units":
        return level or "admin_unit"
    return {"roads": "street", "parcels": "parcel", "projects": "project"}.get(layer.id, layer.id)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _match(expr, folded: str, kind: str, fuzzy: bool = False):
    """(condition, rank, score) of a folded column expression against the folded query.
    Codes: exact or prefix. Names: contains (prefix / word prefix when the query is
    shorter than a trigram); `fuzzy`: trigram word similarity instead (typos)."""
    q = _escape_like(folded)
    if kind == "code":
        cond = expr.like(q + "%", escape="\\")
        rank = sa.case((expr == folded, 0), else_=1)
        return cond, rank, sa.literal(1.0)
    prefix = expr.like(q + "%", escape="\\")
    word = expr.like("% " + q + "%", escape="\\")
    contains = expr.like("%" + q + "%", escape="\\")
    if fuzzy:
        cond = expr.op("%>")(folded)
    elif len(folded) < SHORT_QUERY:
        cond = sa.or_(prefix, word)
    else:
        cond = contains
    rank = sa.case((expr == folded, 0), (prefix, 1), (word, 2), (contains, 3), else_=4)
    return cond, rank, sa.func.word_similarity(folded, expr)


def _label(layer: Layer, t):
    if layer.id == "admin_units":
        return t.c.name
    if layer.id == "parcels":
        return _parcel_label(t)
    return sa.cast(t.c[layer.label_field or layer.id_column], sa.Text)


def _ranked(candidates, limit: int):
    """The best `limit` of a candidate subquery: rank, then similarity, then shortest."""
    c = candidates.c
    return sa.select(candidates).order_by(c.rank, c.score.desc(), sa.func.length(c.label),
                                          c.id).limit(limit)


def _field_select(layer: Layer, field: SearchField, folded: str, limit: int,
                  fuzzy: bool = False) -> list:
    """Selects of one search field: up to CANDIDATES matches, ranked; for codes also the
    exact match (btree, always found). The cap keeps a common word ("bach dang" in
    100,000 addresses) from ranking every match; small tables are never capped by it.
    Exact matches of names are not looked up apart: on a trigram index an equality on
    a common word rechecks every row that holds it."""
    if fuzzy and field.kind == "code":
        return []
    t = layer.table
    expr = sa.func.meta.fold(t.c[field.name])
    cond, rank, score = _match(expr, folded, field.kind, fuzzy)
    if layer.id == "roads":
        return [_street_select(t, cond, rank, score, limit)]
    level = t.c.level if "level" in t.c else sa.cast(sa.null(), sa.Text)
    columns = [sa.literal(layer.id).label("layer"), t.c.id.label("id"),
               _label(layer, t).label("label"), rank.label("rank"), score.label("score"),
               _detail(layer, t).label("detail"), level.label("level"),
               *ex.bbox_columns(t.c.geom)]
    other = sa.select(*columns).where(cond).limit(CANDIDATES).subquery()
    if field.kind != "code":
        return [_ranked(other, limit)]
    exact = sa.select(*columns).where(expr == folded).limit(limit).subquery()
    return [_ranked(exact, limit), _ranked(other, limit)]


def _street_select(roads, cond, rank, score, limit: int):
    """Streets: road segments grouped by name; the bbox and segment count cover every
    segment of the name (looked up by the name's index), not only the candidates."""
    candidates = (sa.select(roads.c.name, roads.c.id, rank.label("rank"), score.label("score"))
                  .where(cond, roads.c.name.is_not(None)).limit(CANDIDATES).subquery())
    c = candidates.c
    names = (sa.select(c.name.label("label"), sa.func.min(c.id).label("id"),
                       sa.func.min(c.rank).label("rank"), sa.func.max(c.score).label("score"))
             .group_by(c.name).subquery())
    best = _ranked(names, limit).subquery()
    extent = (sa.select(sa.func.ST_Extent(roads.c.geom).label("box"),
                        sa.func.count().label("segments"))
              .where(sa.func.meta.fold(roads.c.name) == sa.func.meta.fold(best.c.label),
                     roads.c.name == best.c.label).lateral())
    return sa.select(sa.literal("roads").label("layer"), best.c.id, best.c.label, best.c.rank,
                     best.c.score, sa.cast(extent.c.segments, sa.Text).label("detail"),
                     sa.cast(sa.null(), sa.Text).label("level"), *ex.bbox_columns(extent.c.box)
                     ).select_from(best.join(extent, sa.true()))


def _detail(layer: Layer, t):
    """A second line for a result: validity of an admin unit, else the matched field's
    neighbour that tells results apart (address, or the layer's first field)."""
    if layer.id == "admin_units":
        return sa.func.concat(t.c.level, " ", t.c.valid_from, "..",
                              sa.func.coalesce(sa.cast(t.c.valid_to, sa.Text), ""))
    if "address" in t.c and layer.label_field != "address":
        return t.c.address
    return sa.cast(t.c[layer.fields[0].name], sa.Text)


def _parcel_label(parcels):
    """"Thửa 345, tờ 12, Phường Hải Châu": the parcel number as planners write it."""
    units = get_layer("admin_units").table
    ward_name = (sa.select(units.c.name).where(units.c.code == parcels.c.ward_code)
                 .order_by(units.c.valid_from.desc()).limit(1).scalar_subquery())
    return sa.func.concat("Thửa ", parcels.c.parcel_no, ", tờ ", parcels.c.sheet_no, ", ",
                          sa.func.coalesce(ward_name, parcels.c.ward_code))


def parse_parcel_number(folded: str) -> tuple[int, int, str] | None:
    """(sheet, parcel, rest of the text: the ward) of a parcel number, if `folded`
    holds one: "to 12 thua 345", "thua 345 to 12", "12/345", "hai chau 12/345"."""
    for i, pattern in enumerate(PARCEL_PATTERNS):
        m = pattern.search(folded)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            sheet, parcel = (b, a) if i == REVERSED else (a, b)
            rest = (folded[:m.start()] + " " + folded[m.end():])
            rest = WARD_WORDS.sub(" ", rest.replace(",", " ")).strip(" -/,")
            return sheet, parcel, " ".join(rest.split())
    return None


def _parcel_select(conn: Connection, folded: str, limit: int):
    """Parcels whose number the query holds, in the named ward if any; None otherwise."""
    parsed = parse_parcel_number(folded)
    if not parsed:
        return None
    sheet, parcel, ward_text = parsed
    parcels, units = get_layer("parcels").table, get_layer("admin_units").table

    conditions = [parcels.c.sheet_no == sheet, parcels.c.parcel_no == parcel]
    if ward_text:
        ward_fold = sa.func.meta.fold(units.c.name)
        codes = sa.select(units.c.code).where(
            units.c.level.in_(("ward", "commune")),
            ward_fold.like("%" + _escape_like(ward_text) + "%", escape="\\"))
        conditions.append(sa.or_(sa.func.meta.fold(parcels.c.ward_code) == ward_text,
                                 parcels.c.ward_code.in_(codes.scalar_subquery())))
    stmt = (sa.select(sa.literal("parcels").label("layer"), parcels.c.id.label("id"),
                      _parcel_label(parcels).label("label"), sa.literal(0).label("rank"),
                      sa.literal(1.0).label("score"), parcels.c.address.label("detail"),
                      sa.cast(sa.null(), sa.Text).label("level"),
                      *ex.bbox_columns(parcels.c.geom))
            .where(*conditions).order_by(parcels.c.ward_code).limit(limit))
    return sa.select(stmt.subquery())


def search(conn: Connection, q: str, layers: tuple[Layer, ...] | None = None,
           limit: int = 10) -> dict:
    """Results for `q`, best first: label, detail, layer, id, kind, bbox (to zoom to).
    Parcel numbers and contained text first; trigram similarity (typos) only when
    those found fewer than `limit` results, since it is the costly part."""
    text = (q or "").strip()
    if not text:
        raise InvalidParameter("q is required")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidParameter(f"q is longer than {MAX_QUERY_CHARS} characters")
    if not 1 <= int(limit) <= MAX_LIMIT:
        raise InvalidParameter(f"limit must be between 1 and {MAX_LIMIT}")
    chosen = tuple(layers) if layers else source_layers()
    best: dict[tuple, dict] = {}
    with db_errors():
        folded = " ".join((conn.execute(sa.select(sa.func.meta.fold(text))).scalar_one()).split())
        if len(folded) < MIN_CHARS:
            return {"q": text, "numberReturned": 0, "results": []}
        for fuzzy in (False, True):
            if fuzzy and (len(best) >= limit or len(folded) < SHORT_QUERY):
                break
            selects = [select for layer in chosen for field in search_fields(layer)
                       for select in _field_select(layer, field, folded, limit, fuzzy)]
            if not fuzzy and any(layer.id == "parcels" for layer in chosen):
                parcel = _parcel_select(conn, folded, limit)
                if parcel is not None:
                    selects.insert(0, parcel)
            if selects:
                _collect(conn.execute(sa.union_all(*selects)), chosen, best)
    ordered = sorted(best.values(), key=lambda h: (h["rank"], KIND_PRIORITY.get(h["kind"], 9),
                                                   -h["score"], len(h["label"] or "")))
    return {"q": text, "numberReturned": min(len(ordered), limit), "results": ordered[:limit]}


def _collect(rows, chosen: tuple[Layer, ...], best: dict) -> None:
    """Results by (layer, id), each keeping its best rank."""
    by_id = {layer.id: layer for layer in chosen}
    for row in rows:
        layer = by_id[row.layer]
        hit = {"label": row.label, "detail": _detail_text(layer, row), "layer": row.layer,
               "layer_title_vi": layer.title_vi, "layer_title_en": layer.title_en,
               "id": row.id, "kind": kind_of(layer, row.level), "bbox": ex.bbox_of(row),
               "rank": int(row.rank), "score": round(float(row.score or 0), 3)}
        key = (row.layer, row.id)
        if key not in best or (hit["rank"], -hit["score"]) < (best[key]["rank"], -best[key]["score"]):
            best[key] = hit


def _detail_text(layer: Layer, row) -> str | None:
    if layer.id == "roads":
        return f"{row.detail} đoạn / segments"
    return row.detail
