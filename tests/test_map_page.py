"""The map page as HTTP sees it: size, caching, languages, errors, no CDN, and the
/vendor file server (allow-list, media types, long caching, path traversal refused)."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from layers.registry import ALL_LAYERS

ONLINE_BASE_HOSTS = ("tile.openstreetmap.org", "basemaps.cartocdn.com", "www.openstreetmap.org")


@pytest.fixture(scope="module")
def map_client(settings):
    """An app on the session's database; the page needs no layer data."""
    from webmap.app import create_app
    application = create_app({"TESTING": True, "SETTINGS": settings})
    yield application.test_client()
    application.extensions["gisdb"].engine.dispose()


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.urls.append(attrs["src"])


def page_assets(html: str) -> list[str]:
    parser = _Assets()
    parser.feed(html)
    return parser.urls


def test_map_page_is_small_local_and_complete(map_client):
    resp = map_client.get("/map")
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert len(resp.data) < 1_000_000
    assets = page_assets(html)
    assert any(a.startswith("/vendor/leaflet/dist/leaflet.js") for a in assets)
    assert all((a.startswith("/") and not a.startswith("//")) or a == "data:," for a in assets), assets
    # the only absolute URLs left are the optional online base maps (and a comment)
    for url in re.findall(r"https?://[^\s\"'<>)\\]+", html):
        host = url.split("/")[2].removeprefix("{s}.")
        assert host in ONLINE_BASE_HOSTS or host == "github.com", url
    for layer in ALL_LAYERS:
        assert re.search(rf"/tiles/v\d+/{layer.id}/{{z}}/{{x}}/{{y}}", html)   # CDN-safe
    assert "/tiles/base/{z}/{x}/{y}.png" in html
    assert "GisdbMap.start(" in html


def test_every_asset_of_the_page_is_served(map_client):
    html = map_client.get("/map").get_data(as_text=True)
    served = [url for url in page_assets(html) if not url.startswith("data:")]
    # the check has a subject: the page's own scripts and styles, vendored ones among them
    assert any(u.split("?")[0].endswith(".js") and u.startswith("/vendor/") for u in served), served
    assert any(u.split("?")[0].endswith(".css") and u.startswith("/vendor/") for u in served), served
    css_refs = 0
    for url in served:
        resp = map_client.get(url)
        assert resp.status_code == 200, url
        if url.split("?")[0].endswith(".css") and url.startswith("/vendor/"):
            base = url.split("?")[0].rsplit("/", 1)[0]
            css = resp.get_data(as_text=True)
            for ref in re.findall(r"url\(['\"]?([^'\")]+)['\"]?\)", css):
                if ref.startswith(("data:", "#")):
                    continue
                assert map_client.get(base + "/" + ref).status_code == 200, (url, ref)
                css_refs += 1
    assert css_refs > 0, "no image referenced by the vendored CSS was checked"


def test_caching_headers_and_304(map_client):
    first = map_client.get("/map")
    etag = first.headers["ETag"]
    assert "max-age" in first.headers["Cache-Control"]
    again = map_client.get("/map", headers={"If-None-Match": etag})
    assert again.status_code == 304
    other = map_client.get("/map?lang=en")
    assert other.headers["ETag"] != etag


def test_languages(map_client):
    vi = map_client.get("/map?lang=vi").get_data(as_text=True)
    en = map_client.get("/map?lang=en").get_data(as_text=True)
    # the layer control's labels carry both texts and start in the page's language
    assert "\\u003eTh\\u1eeda \\u0111\\u1ea5t\\u003c/span" in vi
    assert "\\u003eLand parcels\\u003c/span" in en
    assert '"lang": "vi"' in vi and '"lang": "en"' in en
    assert "<title>Bản đồ quy hoạch Đà Nẵng</title>" in vi
    assert "<title>Da Nang planning map</title>" in en
    browser_en = map_client.get("/map", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert browser_en.headers["Content-Language"] == "en"


def test_one_layer_page(map_client):
    resp = map_client.get("/map/buildings")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert '"focus": "buildings"' in html
    # only the focused overlay is added to the map at load
    added = re.findall(r"(tile_layer_\w+)\.addTo\(", html)
    names = {m.group(2): m.group(1) for m in
             re.finditer(r'var (tile_layer_\w+) = L\.tileLayer\(\s*"/tiles/(?:v\d+/)?(\w+)/', html)}
    assert names["buildings"] in added
    assert names["parcels"] not in added


@pytest.mark.parametrize("url,status", [
    ("/map/nope", 404), ("/map?lang=fr", 400), ("/map?zoom=3", 400)])
def test_bad_requests_are_clear_json_errors(map_client, url, status):
    resp = map_client.get(url)
    assert resp.status_code == status
    body = resp.get_json()
    assert set(body) == {"code", "description"} and body["description"]


def test_vendor_serves_allowed_packages_with_types_and_caching(map_client):
    resp = map_client.get("/vendor/leaflet/dist/leaflet.js")
    assert resp.status_code == 200
    assert resp.mimetype == "text/javascript"
    assert resp.headers["Cache-Control"] == "public, max-age=86400"
    css = map_client.get("/vendor/leaflet/dist/leaflet.css")
    assert css.mimetype == "text/css"
    png = map_client.get("/vendor/leaflet/dist/images/layers.png")
    assert png.mimetype == "image/png" and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    from webmap.vendor import package_version
    versioned = map_client.get("/vendor/leaflet/dist/leaflet.js?v=" + package_version("leaflet"))
    assert "immutable" in versioned.headers["Cache-Control"]
    assert map_client.get("/vendor/leaflet/dist/leaflet.js",
                          headers={"If-None-Match": resp.headers["ETag"]}).status_code == 304


@pytest.mark.parametrize("url", [
    "/vendor/leaflet/../../setup.cfg",
    "/vendor/leaflet/%2e%2e/%2e%2e/setup.cfg",
    "/vendor/leaflet/..%2f..%2fsetup.cfg",
    "/vendor/leaflet/dist/..%5c..%5cpackage.json",
    "/vendor/leaflet/%2fetc/passwd",
    "/vendor/lodash/lodash.js",
    "/vendor/leaflet/package.jsonx",
    "/vendor/leaflet/dist/missing.js",
    "/vendor/..%2fwebmap/app.py",
])
def test_vendor_refuses_what_is_not_an_allowed_asset(map_client, url):
    resp = map_client.get(url, follow_redirects=True)
    assert resp.status_code in (400, 404), url
    assert b"[metadata]" not in resp.data and b"root:" not in resp.data
    assert resp.get_json()["code"]


def test_rasters_of_the_catalog_are_a_group_of_overlays():
    from webmap.map_build import MapSpec, render_page
    html = render_page(MapSpec(lang="en", rasters=(("dem", "Copernicus DEM 30 m"),)))
    assert '"/rasters/dem/{z}/{x}/{y}.png"' in html
    assert "Rasters\\u003c/span\\u003e" in html and '"Copernicus DEM 30 m"' in html
    assert '"raster:dem"' in html                     # toggled by the permalink like the rest


def test_the_default_view_frames_the_whole_city(client, engine):
    """The first screen shows every current ward: centred on them, at the largest zoom
    at which their box fits a laptop's window (zoom 11 for Da Nang)."""
    import re

    from webmap.map_page import VIEW_PX, city_view, city_zoom
    html = client.get("/map").get_data(as_text=True)
    with engine.connect() as conn:
        centre, zoom = city_view(conn), city_zoom(conn)
    assert zoom == 11 and re.search(r'"zoom":\s*11\b|zoom:\s*11\b', html)
    assert f"{centre[0]}" in html and f"{centre[1]}" in html
    lat, lon = centre
    assert 15.9 < lat < 16.25 and 107.8 < lon < 108.35 and VIEW_PX[0] >= 800


@pytest.mark.parametrize("url", ["/map", "/map/parcels?lang=en", "/vendor/leaflet/dist/leaflet.js",
                                 "/vendor/leaflet/dist/leaflet.css", "/static/map/map.js"])
def test_map_and_its_libraries_are_gzipped_when_asked(map_client, url):
    import gzip
    plain = map_client.get(url)
    assert plain.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers.get("Vary", "")
    packed = map_client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data) / 2
    assert int(packed.headers["Content-Length"]) == len(packed.data)
    # the compressed copy's validator is weak, and still gives a 304
    assert packed.headers["ETag"].startswith('W/"')
    again = map_client.get(url, headers={"Accept-Encoding": "gzip",
                                         "If-None-Match": packed.headers["ETag"]})
    assert again.status_code == 304
    refused = map_client.get(url, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers and refused.data == plain.data


def test_tiles_and_errors_are_not_gzipped(map_client):
    error = map_client.get("/map?lang=fr", headers={"Accept-Encoding": "gzip"})
    assert error.status_code == 400 and "Content-Encoding" not in error.headers
    assert error.get_json()["code"]


def test_coded_values_have_both_languages_in_the_page_config(map_client):
    from layers import construction, land, traffic
    from layers.value_labels import value_labels
    labels = value_labels()
    stored = {("admin_units", "level"): land.ADMIN_LEVELS, ("parcels", "owner_type"): land.OWNER_TYPES,
              ("parcels", "land_use"): land.LAND_USE_VALUES,
              ("buildings", "status"): construction.BUILDING_STATUS,
              ("permits", "permit_type"): construction.PERMIT_TYPES,
              ("permits", "status"): construction.PERMIT_STATUS,
              ("projects", "phase"): construction.PROJECT_PHASES,
              ("roads", "surface"): traffic.SURFACES,
              ("incidents", "incident_type"): traffic.INCIDENT_TYPES,
              ("cameras", "camera_type"): traffic.CAMERA_TYPES}
    for (layer, field), values in stored.items():
        assert set(labels[layer][field]) == set(values), (layer, field)
        for value, (vi, en) in labels[layer][field].items():
            assert vi and en and (vi != en or not value.isascii()), (layer, field, value)
    assert labels["buildings"]["use"]["residential"] == ["Nhà ở", "Residential"]
    html = map_client.get("/map").get_data(as_text=True)
    assert '"values": {' in html and '"issued": ["Đã cấp", "Issued"]' in html
