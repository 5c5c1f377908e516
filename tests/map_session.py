"""The planners' map in a real browser, for the browser tests: Debian's Chromium launched
by Playwright, and one tab on the map (`MapSession`) that records console errors and
blocks (and records) every request that leaves this machine."""
from __future__ import annotations

import re
from contextlib import contextmanager

from clients import CHROMIUM, require

ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
# every request that does not go to this machine (matched in the browser driver, so
# local requests never wait for Python)
NOT_LOCAL = re.compile(r"^(?!http://127\.0\.0\.1[:/]|data:|blob:|about:)")

@contextmanager
def chromium():
    """Debian's Chromium, headless, through Playwright (skipped, or failed under CI, when
    it is missing)."""
    require("chromium")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


class MapSession:
    """One browser tab on the map, with its console errors and blocked requests."""

    def __init__(self, browser, base_url: str, locale: str = "vi-VN", **context_options):
        self.base_url = base_url
        context_options.setdefault("viewport", {"width": 1100, "height": 700})
        self.context = browser.new_context(locale=locale, **context_options)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.external: list[str] = []
        self.page.route(NOT_LOCAL, self._block)
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _block(self, route):
        self.external.append(route.request.url)
        route.abort()

    def open(self, path: str = "/map", wait_tiles_of: str | None = "admin_units"):
        self.page.goto(self.base_url + path, wait_until="domcontentloaded")
        self.page.wait_for_function("window.gisdbMap !== undefined")
        if wait_tiles_of:
            self.wait_tiles(wait_tiles_of)
        return self

    def wait_tiles(self, layer_id: str):
        self.page.wait_for_function(
            "id => Array.from(document.querySelectorAll('img.leaflet-tile-loaded'))"
            ".some(img => new RegExp('/tiles/(v\\\\d+/)?' + id + '/').test(img.src) && img.naturalWidth > 0)",
            arg=layer_id, timeout=30_000)

    def js(self, expression: str, arg=None):
        return self.page.evaluate(expression, arg)

    def click_lonlat(self, lon: float, lat: float):
        x, y = self.js("""([lat, lon]) => {
            const m = gisdbMap.map, p = m.latLngToContainerPoint([lat, lon]);
            const r = m.getContainer().getBoundingClientRect();
            return [p.x + r.left, p.y + r.top]; }""", [lat, lon])
        self.page.mouse.click(x, y)


def view_hash(lon: float, lat: float, zoom: int, layers: str) -> str:
    """The map's address hash of a view: zoom, centre, overlays on, the offline base."""
    return f"#{zoom}/{lat:.6f}/{lon:.6f}/{layers}/city"
