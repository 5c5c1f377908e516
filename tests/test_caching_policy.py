"""One caching policy for every answer: one If-None-Match matcher, one (weak) ETag form
(strong for one feature, carrying its version for If-Match),
one Cache-Control table (webmap.caching), and the web layer alone deciding a 304."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from webmap.caching import CACHE_CONTROL, etag_header, make_tag, matches

ROOT = Path(__file__).resolve().parents[1]
TILE = "16/52467/29806"


def test_matcher_compares_weakly_and_knows_star_and_lists():
    tag = make_tag("items", "roads", 7)
    assert matches(etag_header(tag), tag)
    assert matches(f'"{tag}"', tag)                          # a strong copy of a weak tag
    assert matches(f'"other", W/"{tag}"', tag)
    assert matches(' * ', tag)
    assert not matches(f'"{tag}x"', tag)
    assert not matches(f'W/"{tag[:-1]}"', tag)
    assert not matches(tag, tag)                             # unquoted: not an entity tag
    assert not matches(None, tag) and not matches("", tag)


def test_tags_follow_their_parts():
    assert make_tag("a", 1) == make_tag("a", 1) != make_tag("a", 2)
    assert etag_header("abc") == 'W/"abc"'


def _literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.add(node.value)
        elif isinstance(node, ast.JoinedStr):        # f-strings: their constant parts
            out.update(v.value for v in node.values if isinstance(v, ast.Constant))
    return out


def test_cache_control_and_etag_form_are_spelt_in_one_module():
    policies = set(CACHE_CONTROL.values())
    directive = re.compile(r"max-age=|no-store|no-cache|immutable|must-revalidate")
    bad = []
    for package in ("webmap", "tiles"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "webmap" / "caching.py":
                continue
            for text in _literals(path):
                short = "\n" not in text            # docstrings may speak of the policy
                if text in policies or (short and directive.search(text)) or 'W/"' in text:
                    bad.append(f"{path.relative_to(ROOT)}: {text!r}")
    assert not bad, "caching spelt outside webmap/caching.py:\n" + "\n".join(bad)


@pytest.mark.parametrize("url, policy", [
    ("/collections/buildings/items?limit=3", "data"),
    ("/collections/buildings/items/1", "data"),
    ("/collections/buildings/queryables", "document"),
    ("/query/identify?lon=108.2208&lat=16.0678", "data"),
    ("/search?q=hai%20chau", "data"),
    ("/map", "map_page"),
    (f"/tiles/buildings,roads/{TILE}.mvt", "vector_tile"),
    (f"/tiles/roads/{TILE}.png", "data"),
    ("/tiles/buildings,roads.json", "listing"),
    ("/collections/roads/tiles/WebMercatorQuad/tilejson", "listing"),
    ("/collections/roads/tiles/WebMercatorQuad", "listing"),
    ("/collections/roads/tiles", "document"),
    ("/tileMatrixSets", "document"),
    ("/tileMatrixSets/WebMercatorQuad", "document"),
    ("/rasters", "listing"),
    ("/vendor/leaflet/dist/leaflet.js", "vendor"),
    ("/static/map/map.css", "static"),
])
def test_every_tagged_answer_has_a_weak_etag_and_answers_304(client, url, policy):
    first = client.get(url)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == CACHE_CONTROL[policy]
    etag = first.headers["ETag"]
    versioned = url.startswith("/collections/buildings/items/")   # one feature: strong, for If-Match
    assert etag.startswith('"' if versioned else 'W/"') and etag.endswith('"')
    copies = (etag, "W/" + etag, f'"nope", {etag}') if versioned else (etag, etag[2:], f'"nope", {etag}')
    for copy in copies:
        again = client.get(url, headers={"If-None-Match": copy})
        assert again.status_code == 304, copy
        assert again.get_data() == b"" and again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == CACHE_CONTROL[policy]
        assert "Content-Type" not in again.headers
    assert client.get(url, headers={"If-None-Match": '"nope"'}).status_code == 200


def test_no_second_matcher():
    """Files too go through webmap.caching.matches: nothing hands a 304 to werkzeug."""
    werkzeug_conditional = re.compile(r"send_file|send_from_directory|make_conditional|add_etag")
    bad = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "webmap").rglob("*.py"))
           if werkzeug_conditional.search(p.read_text(encoding="utf-8"))]
    assert not bad, bad


@pytest.mark.parametrize("url", ["/tiles/buildings,roads.json", "/collections/roads/tiles",
                                 "/tileMatrixSets", "/rasters", "/healthz"])
def test_documents_made_in_views_keep_flasks_json_bytes(client, url):
    """TileJSON, tilesets, tile matrix sets, the raster catalog and /healthz go through
    the one web shape with the bytes `jsonify` wrote before: compact, a final newline."""
    resp = client.get(url)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/json"
    body = resp.get_data(as_text=True)
    assert body == json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":")) + "\n"


def test_a_304_of_features_gives_its_connection_back(app, client):
    pool = app.extensions["gisdb"].engine.pool
    url = "/collections/buildings/items?limit=3"
    etag = client.get(url).headers["ETag"]
    before = pool.checkedout()
    for _ in range(3):
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
        assert client.get("/collections/buildings/items/1",
                          headers={"If-None-Match": "*"}).status_code == 304
    assert pool.checkedout() == before


def test_a_304_of_a_png_tile_reads_and_draws_nothing(app, client):
    """The tile's tag comes before its bytes: a current copy is answered without the
    cache or Mapnik (said as a cache hit); the tile is drawn only when asked for."""
    url = f"/tiles/parcels,roads/{TILE}@2x.png"
    etag = client.get(url).headers["ETag"]
    app.extensions["gisdb.tiles"].cache.clear()
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["X-Tile-Cache"] == "hit"
    drawn = client.get(url)                 # the 304 stored nothing: drawn now
    assert drawn.status_code == 200 and drawn.headers["X-Tile-Cache"] == "miss"
    assert drawn.headers["Content-Type"] == "image/png" and drawn.headers["ETag"] == etag


def test_errors_are_never_stored(client):
    resp = client.get("/collections/buildings/items?bogus=1", headers={"If-None-Match": "*"})
    assert resp.status_code == 400 and resp.headers["Cache-Control"] == CACHE_CONTROL["never"]
    assert client.get("/healthz").headers["Cache-Control"] == CACHE_CONTROL["never"]
