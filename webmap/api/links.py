"""Link objects of OGC API documents."""
from __future__ import annotations

from .response import GEOJSON, HTML, JSON


def link(href: str, rel: str, type_: str = JSON, title: str | None = None) -> dict:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def with_query(url: str, query: str) -> str:
    return url + ("?" + query if query else "")


def self_and_alternate(url: str, query: str, fmt: str, json_type: str = JSON) -> list[dict]:
    """`self` in the served format, `alternate` in the other one."""
    sep = "&" if query else ""
    as_json = with_query(url, query + sep + "f=json")
    as_html = with_query(url, query + sep + "f=html")
    if fmt == "html":
        return [link(as_html, "self", HTML, "this page"), link(as_json, "alternate", json_type, "as JSON")]
    return [link(as_json, "self", json_type, "this document"), link(as_html, "alternate", HTML, "as HTML")]


__all__ = ["link", "with_query", "self_and_alternate", "GEOJSON", "HTML", "JSON"]
