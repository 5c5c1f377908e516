"""`/collections/{id}/items` and `/items/{fid}`: GeoJSON built by PostGIS, joined there
500 features to a row and read as bytes (binary results), so Python only moves bytes.
The page is read whole before the response starts, so a timeout or a bad query is still
a JSON error; links and counts close the document, once the rows tell whether more exist."""
from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from gisdb.editing.versions import row_version
from gisdb.engine import db_errors
from gisdb.errors import InvalidFilter, NotFound
from layers.registry import get_layer

from ..caching import as_of_cache, as_of_version, make_tag
from .encoding import gzipped
from .items_sql import joined_page, page_statements
from .links import link, self_and_alternate, with_query
from .params import ItemsQuery, only_known, output_format, parse_items_query
from .response import GEOJSON, HTML, ApiResponse
from .table_state import table_state


def _headers(q: ItemsQuery) -> dict[str, str]:
    return {"Content-Crs": "<" + q.crs.uri + ">", "Vary": "Accept, Accept-Encoding"}


def items_page(engine: sa.Engine, layer_id: str, pairs: list[tuple[str, str]], *, base: str,
               accept_html: bool, gzip: bool) -> ApiResponse:
    """A page of features; its tag follows the layer's data version, and the rows are
    read only when the web layer does not answer 304."""
    layer = get_layer(layer_id)
    q = parse_items_query(layer, pairs)
    fmt = output_format(dict(pairs).get("f"), accept_html)
    statements = page_statements(layer, q)
    conn = engine.connect()
    try:
        with db_errors():       # single statements: no BEGIN/ROLLBACK round trips
            conn.execution_options(isolation_level="AUTOCOMMIT")
            state = table_state(conn, layer)
    except BaseException:
        conn.close()
        raise
    tag = make_tag("items", layer.id, as_of_version(q.as_of, state.version), q.query_string(), fmt,
                   "gz" if gzip else "", base)      # links are built from base
    page = _Page(conn, layer, q, fmt, f"{base}/collections/{layer.id}/items", statements, state.small)
    return ApiResponse(etag=tag, headers=_headers(q), later=lambda: page.answer(gzip),
                       release=conn.close, cache=as_of_cache(q.as_of))


class _Page:
    """The rows of an items page, once its tag is not the client's, read whole before
    the response starts (a bad filter or a timeout is still a JSON error). A page is at
    most MAX_LIMIT features, a few MB: no server-side cursor, whose plans forgo
    PostgreSQL's parallel workers and cost a round trip per batch."""

    def __init__(self, conn, layer, q: ItemsQuery, fmt: str, url: str, statements: tuple, small: bool):
        self.conn, self.layer, self.q, self.fmt, self.url = conn, layer, q, fmt, url
        self.statements, self.small = statements, small

    def answer(self, gzip: bool) -> ApiResponse:
        """The page: HTML from the rows, or GeoJSON joined by the database."""
        if self.fmt == "html":
            return self._html()
        conn, q, headers = self.conn, self.q, _headers(self.q)
        stmt, count_stmt, values = self.statements
        with self._reading():
            matched = conn.execute(count_stmt, values).scalar_one() if self.small else None
            rows = conn.execution_options(binary_results=True).execute(
                joined_page(stmt), {**values, "page_rows": q.limit}).all()
        conn.close()
        body = _document(rows, q, self.url, matched)
        if gzip:
            body = gzipped(body)
            headers["Content-Encoding"] = "gzip"
        # The page goes out whole, with a Content-Length: one write instead of a chunked
        # tail that can wait on a delayed ACK (Nagle) for ~40 ms.
        return ApiResponse(media_type=GEOJSON, headers=headers, body=b"".join(body))

    def _html(self) -> ApiResponse:
        """The page as HTML: the features one per row, parsed for the table."""
        conn, q = self.conn, self.q
        stmt, count_stmt, values = self.statements
        with self._reading():
            matched = conn.execute(count_stmt, values).scalar_one() if self.small else None
            rows = conn.execute(stmt, values).scalars().fetchmany(q.limit + 1)
        conn.close()
        return _html_page(self.layer, q, self.url, rows, matched, _headers(q))

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Driver errors as the system's; the connection closed on any failure."""
        try:
            with db_errors():
                yield
        except sa_exc.DataError:
            self.conn.close()       # e.g. an arithmetic overflow inside a filter
            raise InvalidFilter("the filter's values could not be evaluated (out of range?)") from None
        except BaseException:
            self.conn.close()
            raise


def _page_links(q: ItemsQuery, url: str, fmt: str, more: bool) -> list[dict]:
    links = self_and_alternate(url, q.query_string(), fmt, GEOJSON)
    kind = GEOJSON if fmt == "json" else HTML
    suffix = "" if fmt == "json" else "&f=html"
    if more:
        links.append(link(with_query(url, q.query_string(offset=q.offset + q.limit)) + suffix,
                          "next", kind, "next page"))
    if q.offset > 0:
        prev = max(0, q.offset - q.limit)
        links.append(link(with_query(url, q.query_string(offset=prev or None)) + suffix,
                          "prev", kind, "previous page"))
    return links


def _closing(q, url, returned, more, matched) -> bytes:
    tail = {"numberReturned": returned}
    if matched is not None:
        tail["numberMatched"] = matched
    tail["timeStamp"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    tail["links"] = _page_links(q, url, "json", more)
    return b"]," + json.dumps(tail, ensure_ascii=False)[1:].encode()


def _document(rows: list, q: ItemsQuery, url: str, matched) -> list[bytes]:
    """The FeatureCollection's pieces from the joined rows (`items_sql.joined_page`):
    their bodies in order, then the closing members; the look-ahead row (part NULL)
    says a next page exists."""
    pieces, returned, more = [b'{"type": "FeatureCollection", "features": ['], 0, False
    for row in rows:
        if row.part is None:
            more = True
            break
        pieces.append((b"," if returned else b"") + row.body)
        returned += row.n
    pieces.append(_closing(q, url, returned, more, matched))
    return pieces


def _html_page(layer, q, url, rows, matched, headers) -> ApiResponse:
    more = len(rows) > q.limit
    features = [json.loads(r) for r in rows[: q.limit]]
    doc = {"type": "FeatureCollection", "features": features,
           "numberReturned": len(features), "links": _page_links(q, url, "html", more)}
    if matched is not None:
        doc["numberMatched"] = matched
    fields = [f for f in layer.fields if q.properties is None or f.name in q.properties]
    ctx = {"layer": layer, "fields": fields, "offset": q.offset, "limit": q.limit}
    return ApiResponse(media_type=HTML, headers=headers, document={**doc, "_ctx": ctx},
                       template="ogc/items.html")


def parse_feature_id(raw: str) -> int:
    """A feature id: plain ASCII digits only (int() would also take '١', '+1', '1_0')."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        raise NotFound(f"no feature with id {raw[:40]!r} (ids are plain digits)")
    value = int(raw)
    if not 0 < value < 2 ** 63:
        raise NotFound(f"no feature with id {raw[:40]!r}")
    return value


def feature_tag(layer_id: str, fid: int, query: str, fmt: str, base: str) -> str:
    """The tag of one feature's answer (its row version goes beside it, in the ETag)."""
    return make_tag("item", layer_id, fid, query, fmt, base)


def default_query(layer) -> str:
    """The query string of a plain `GET .../items/{id}` (what a write's ETag names)."""
    return parse_items_query(layer, []).query_string()


def item(engine: sa.Engine, layer_id: str, feature_id: str, pairs: list[tuple[str, str]], *,
         base: str, accept_html: bool) -> ApiResponse:
    """One feature, tagged with its row version (a strong ETag for If-Match); NotFound
    (404) when the id is not a feature of the layer. The feature itself is read only
    when the web layer does not answer 304."""
    layer = get_layer(layer_id)
    given = only_known(pairs, ("f", "crs", "properties", "as_of"))
    fmt = output_format(given.get("f"), accept_html)
    q = parse_items_query(layer, [(k, v) for k, v in pairs if k != "f"])
    fid = parse_feature_id(feature_id)
    stmt, _, values = page_statements(layer, q, extra=0,
                                      where=[layer.table.c[layer.id_column] == fid])
    conn = engine.connect()
    try:
        with db_errors():
            version = conn.execute(sa.select(row_version(layer.table))
                                   .where(layer.table.c[layer.id_column] == fid)).scalar()
    except BaseException:
        conn.close()
        raise
    if q.as_of is not None:             # the feature as it was: it may be gone since
        try:
            with db_errors():
                state = table_state(conn, layer)
        except BaseException:
            conn.close()
            raise
        tag = make_tag("item", layer.id, fid, as_of_version(q.as_of, state.version),
                       q.query_string(), fmt, base)
        return ApiResponse(etag=tag, headers=_headers(q), release=conn.close,
                           cache=as_of_cache(q.as_of),
                           later=lambda: _feature(conn, stmt, values, layer, q, fid, fmt, base))
    if version is None:
        conn.close()
        raise NotFound(f"no feature with id {fid} in {layer.id}")
    tag = feature_tag(layer.id, fid, q.query_string(), fmt, base)
    return ApiResponse(etag=tag, version=version, headers=_headers(q), release=conn.close,
                       later=lambda: _feature(conn, stmt, values, layer, q, fid, fmt, base))


def _feature(conn, stmt, values, layer, q: ItemsQuery, fid: int, fmt: str,
             base: str) -> ApiResponse:
    with db_errors(), conn:
        row = conn.execute(stmt, values).scalar()
    if row is None:
        raise NotFound(f"no feature with id {fid} in {layer.id}")
    headers = _headers(q)
    feature = json.loads(row)
    url = f"{base}/collections/{layer.id}/items/{fid}"
    feature["links"] = self_and_alternate(url, q.query_string(), fmt, GEOJSON) + [
        link(f"{base}/collections/{layer.id}", "collection", "application/json", layer.title_en)]
    if fmt == "html":
        ctx = {"layer": layer, "fields": [f for f in layer.fields
                                          if q.properties is None or f.name in q.properties]}
        return ApiResponse(media_type=HTML, headers=headers, document={**feature, "_ctx": ctx},
                           template="ogc/item.html")
    return ApiResponse(media_type=GEOJSON, headers=headers,
                       body=json.dumps(feature, ensure_ascii=False).encode())
