"""The planners' map as a folium.Map: base maps, one PNG overlay per registry layer (plus
the raster catalog), grouped in a layer control, the planners' tools, and the page's
own script that adds identify, search, draw-to-query, legend, permalink and vi/en.

Nothing here reads layer data: overlays are the project's own tiles, so the page stays
the same few tens of KB whatever the database holds. Every script, style sheet and icon
comes from the app (`/vendor/...` from npm, `/static/map/...`), never from a CDN:
`localise_assets` rewrites each folium element's links and refuses any it does not know.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import folium
from folium import plugins
from folium.elements import JSCSSMixin
from folium.template import Template

from layers.basemap import DEM_ATTRIBUTION
from layers.layer import GROUPS, Layer
from layers.registry import ALL_LAYERS
from layers.value_labels import value_labels

from .map_edit import EDIT_SCRIPTS, EDIT_STYLES, edit_config
from .map_planning import PLANNING_SCRIPTS, PLANNING_STYLES, planning_config
from .vendor import vendor_url

STATIC_DIR = Path(__file__).resolve().parent / "static" / "map"
OWN_SCRIPTS = ("i18n.js", "plugin_i18n.js", "map.js", "legend.js", "identify.js", "search.js",
               "drawquery.js", "panels.js", "time.js", "history_popup.js", "station_chart.js",
               *EDIT_SCRIPTS, "tile_versions.js", *PLANNING_SCRIPTS)
OWN_STYLES = ("map.css", "time.css", *EDIT_STYLES, *PLANNING_STYLES)
DEFAULT_VISIBLE = ("admin_units", "parcels", "buildings", "roads")
RASTER_GROUP = ("Ảnh & raster", "Rasters")
MAX_ZOOM = 22
OVERLAY_ATTRIBUTION = "GIS Đà Nẵng"
# Stacking of the overlays, whatever order they are switched on in: rasters at the
# bottom, then parcels, the zoning plan over them (translucent, so the plan shows over
# the cadastre), projects, buildings, roads, ward boundaries and names, the points on top.
STACK = ("parcels", "zoning", "projects", "buildings", "roads", "admin_units", "intersections",
         "traffic_stations", "incidents", "cameras", "permits")
RASTER_Z = 1

# Every folium element class this page uses -> its (name, npm package, file) scripts
# and style sheets, served by webmap/vendor.py.
Asset = tuple[str, str, str]
VENDOR_ASSETS: dict[type, tuple[tuple[Asset, ...], tuple[Asset, ...]]] = {
    folium.Map: (
        (("leaflet", "leaflet", "dist/leaflet.js"),),
        (("leaflet_css", "leaflet", "dist/leaflet.css"),)),
    plugins.Fullscreen: (
        (("Control.Fullscreen.js", "leaflet.fullscreen", "Control.FullScreen.js"),),
        (("Control.FullScreen.css", "leaflet.fullscreen", "Control.FullScreen.css"),)),
    plugins.MiniMap: (
        (("Control_MiniMap_js", "leaflet-minimap", "dist/Control.MiniMap.min.js"),),
        (("Control_MiniMap_css", "leaflet-minimap", "dist/Control.MiniMap.min.css"),)),
    plugins.MeasureControl: (
        (("leaflet_measure_js", "leaflet-measure", "dist/leaflet-measure.js"),),
        (("leaflet_measure_css", "leaflet-measure", "dist/leaflet-measure.css"),)),
    plugins.LocateControl: (
        (("Control_locate_min_js", "leaflet.locatecontrol", "dist/L.Control.Locate.min.js"),),
        (("Control_locate_min_css", "leaflet.locatecontrol", "dist/L.Control.Locate.min.css"),)),
    plugins.Draw: (
        (("leaflet_draw_js", "leaflet-draw", "dist/leaflet.draw.js"),),
        (("leaflet_draw_css", "leaflet-draw", "dist/leaflet.draw.css"),)),
}


@dataclass(frozen=True)
class BaseMap:
    id: str
    url: str
    title_vi: str
    title_en: str
    attribution: str
    max_native_zoom: int
    online: bool


# the offline base map is drawn from OSM and the Copernicus DEM: both licences ask for this
CITY_BASE_ATTRIBUTION = ('&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
                         " contributors (ODbL), " + DEM_ATTRIBUTION.replace("©", "&copy;"))
BASE_MAPS = (
    BaseMap("city", "/tiles/base/{z}/{x}/{y}.png", "Nền thành phố (ngoại tuyến)",
            "City base (offline)", CITY_BASE_ATTRIBUTION, 19, online=False),
    BaseMap("osm", "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "OpenStreetMap",
            "OpenStreetMap", '&copy; <a href="https://www.openstreetmap.org/copyright">'
            "OpenStreetMap</a>", 19, online=True),
    BaseMap("light", "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png",
            "Nền sáng", "Light", '&copy; OpenStreetMap, &copy; CARTO', 20, online=True),
)


@dataclass(frozen=True)
class MapSpec:
    """What one map page shows: language, focus layer, view, and the raster catalog."""

    lang: str = "vi"
    center: tuple[float, float] = (16.0544, 108.2022)     # Da Nang, Hải Châu
    zoom: int = 14
    focus: str | None = None                              # /map/{layer}
    rasters: tuple[tuple[str, str], ...] = ()             # (name, title)
    asset_version: str = ""
    visible: tuple[str, ...] = field(default=DEFAULT_VISIBLE)
    hidden: tuple[str, ...] = ()                          # layers hidden from this caller
    tile_versions: tuple[tuple[str, int], ...] = ()       # (layer, URL version): CDN-safe tiles

    def layers(self) -> tuple:
        """The registry's layers this page lists (all but the hidden ones)."""
        return tuple(layer for layer in ALL_LAYERS if layer.id not in self.hidden)


def bilingual(vi: str, en: str, lang: str) -> str:
    """A label the page's i18n script can switch between Vietnamese and English."""
    text = vi if lang == "vi" else en
    return ('<span data-vi="' + _attr(vi) + '" data-en="' + _attr(en) + '">'
            + _attr(text) + "</span>")


def _attr(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def layer_config(layer: Layer) -> dict:
    """What the page's script needs to know about a layer (labels, legend, zooms)."""
    style = layer.style
    return {
        "id": layer.id, "group": layer.group, "title_vi": layer.title_vi,
        "title_en": layer.title_en, "geometry": layer.geometry_type,
        "min_zoom": layer.min_zoom, "max_zoom": layer.max_zoom,
        "label_field": layer.label_field,
        "fields": [{"name": f.name, "vi": f.vi, "en": f.en} for f in layer.fields],
        "style": {"stroke": style.stroke, "fill": style.fill, "width": style.width,
                  "fill_opacity": style.fill_opacity, "dash": style.dash,
                  "category_field": style.category_field,
                  "categories": [list(c) for c in style.categories]},
    }


def page_config(spec: MapSpec, overlays: dict[str, str], bases: dict[str, str],
                map_name: str, draw_name: str) -> dict:
    """The JSON handed to the page's script: registry subset, endpoints, JS names."""
    return {
        "lang": spec.lang, "focus": spec.focus, "map": map_name, "draw": draw_name,
        "groups": {gid: {"vi": vi, "en": en} for gid, (vi, en) in GROUPS.items()},
        "layers": [layer_config(layer) for layer in spec.layers()],
        "values": value_labels(),
        "rasters": [{"id": "raster:" + name, "name": name, "title": title}
                    for name, title in spec.rasters],
        "overlays": overlays, "bases": bases,
        "offline_base": "city",
        "endpoints": {"identify": "/query/identify", "within": "/query/within",
                      "near": "/query/near", "search": "/search",
                      "items": "/collections/{layer}/items/{id}",
                      "history": "/collections/{layer}/items/{id}/history",
                      "timeline": "/history/timeline",
                      "counts": "/collections/traffic_stations/items/{id}/counts"},
        "vendor": {"chart": vendor_url("chart.js", "dist/chart.umd.min.js")},
        "edit": edit_config(),
        "planning": planning_config(spec.layers()),
    }


class GroupedLayers(JSCSSMixin):
    """Leaflet.groupedlayercontrol with base maps and overlay groups (folium's own
    GroupedLayerControl has no base maps)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control.groupedLayers(
            { {%- for label, var in this.bases %} {{ label|tojson }}: {{ var }},{% endfor %} },
            { {%- for group, items in this.groups %} {{ group|tojson }}: {
                {%- for label, var in items %} {{ label|tojson }}: {{ var }},{% endfor %} },
            {%- endfor %} },
            {{ this.options|tojavascript }}
        ).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)
    default_js = [("leaflet.groupedlayercontrol.min.js", "")]
    default_css = [("leaflet.groupedlayercontrol.min.css", "")]

    def __init__(self, bases, groups, **options):
        super().__init__()
        self._name = "GroupedLayers"
        self.bases = bases
        self.groups = groups
        self.options = options


class PageScript(JSCSSMixin):
    """The page's own code (static/map/*.js) and its start call with the config JSON."""

    _template = Template("""
        {% macro header(this, kwargs) %}
        <link rel="icon" href="data:,">
        <title>{{ this.title }}</title>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        window.gisdbMap = GisdbMap.start({{ this._parent.get_name() }}, {{ this.config_json }});
        {% endmacro %}
    """)

    def __init__(self, config: dict, title: str, asset_version: str):
        super().__init__()
        self._name = "PageScript"
        self.title = title
        self.config_json = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
        suffix = "?v=" + asset_version if asset_version else ""
        self.default_js = [("gisdb_" + name, "/static/map/" + name + suffix)
                           for name in OWN_SCRIPTS]
        self.default_css = [("gisdb_" + name.replace(".", "_"), "/static/map/" + name + suffix)
                            for name in OWN_STYLES]


VENDOR_ASSETS[GroupedLayers] = (
    (("leaflet.groupedlayercontrol.min.js", "leaflet-groupedlayercontrol",
      "dist/leaflet.groupedlayercontrol.min.js"),),
    (("leaflet.groupedlayercontrol.min.css", "leaflet-groupedlayercontrol",
      "dist/leaflet.groupedlayercontrol.min.css"),))


def localise_assets(root: folium.Map) -> None:
    """Point every element's scripts and styles at `/vendor/...` (per instance, folium
    itself untouched); an element class with CDN links we do not know is an error."""
    stack = [root]
    while stack:
        element = stack.pop()
        stack.extend(element._children.values())
        if not isinstance(element, JSCSSMixin) or isinstance(element, PageScript):
            continue
        assets = VENDOR_ASSETS.get(type(element))
        if assets is None:
            if element.default_js or element.default_css:
                raise RuntimeError(f"no local assets for {type(element).__name__}")
            continue
        js, css = assets
        element.default_js = [(name, vendor_url(pkg, path)) for name, pkg, path in js]
        element.default_css = [(name, vendor_url(pkg, path)) for name, pkg, path in css]


def overlay_url(layer_id: str, version: int | None) -> str:
    """An overlay's PNG tile template, at its layer's data version when known (immutable:
    tiles.url_version; tile_versions.js moves it when the layer changes)."""
    segment = "" if version is None else f"v{version}/"
    return "/tiles/" + segment + layer_id + "/{z}/{x}/{y}{r}.png"


def _overlay(layer: Layer, spec: MapSpec) -> folium.TileLayer:
    return folium.TileLayer(
        tiles=overlay_url(layer.id, dict(spec.tile_versions).get(layer.id)), attr=OVERLAY_ATTRIBUTION,
        name=bilingual(layer.title_vi, layer.title_en, spec.lang), overlay=True,
        control=False, show=layer.id in spec.visible, min_zoom=layer.min_zoom,
        max_zoom=MAX_ZOOM, detect_retina=False, gisdb_layer=layer.id, z_index=stack_index(layer.id))


def stack_index(layer_id: str) -> int:
    """The overlay's z-index among the overlays (STACK; a layer not named goes on top)."""
    return RASTER_Z + 1 + (STACK.index(layer_id) if layer_id in STACK else len(STACK))


def _raster(name: str, title: str) -> folium.TileLayer:
    return folium.TileLayer(
        tiles="/rasters/" + name + "/{z}/{x}/{y}.png", attr=OVERLAY_ATTRIBUTION,
        name=_attr(title or name), overlay=True, control=False, show=False, max_zoom=MAX_ZOOM,
        opacity=0.7, gisdb_layer="raster:" + name, z_index=RASTER_Z)


def _base(base: BaseMap, spec: MapSpec, show: bool) -> folium.TileLayer:
    return folium.TileLayer(
        tiles=base.url, attr=base.attribution,
        name=bilingual(base.title_vi, base.title_en, spec.lang), overlay=False, control=False,
        show=show, max_zoom=MAX_ZOOM, max_native_zoom=base.max_native_zoom,
        gisdb_base=base.id, gisdb_online=base.online, z_index=0)


def build_map(spec: MapSpec) -> folium.Map:
    """The folium.Map of one page (not rendered)."""
    fmap = folium.Map(location=list(spec.center), zoom_start=spec.zoom, tiles=None,
                      max_zoom=MAX_ZOOM, control_scale=False, zoom_control=True)
    bases, base_vars = [], {}
    for i, base in enumerate(BASE_MAPS):
        tile = _base(base, spec, show=i == 0)
        tile.add_to(fmap)
        bases.append((tile.layer_name, tile.get_name()))
        base_vars[base.id] = tile.get_name()
    groups, overlay_vars = {}, {}
    for layer in spec.layers():
        tile = _overlay(layer, spec)
        tile.add_to(fmap)
        group = bilingual(*GROUPS[layer.group], spec.lang)
        groups.setdefault(group, []).append((tile.layer_name, tile.get_name()))
        overlay_vars[layer.id] = tile.get_name()
    if spec.rasters:
        group = bilingual(*RASTER_GROUP, spec.lang)
        for name, title in spec.rasters:
            tile = _raster(name, title)
            tile.add_to(fmap)
            groups.setdefault(group, []).append((tile.layer_name, tile.get_name()))
            overlay_vars["raster:" + name] = tile.get_name()
    GroupedLayers(bases, list(groups.items()), collapsed=False, position="topright",
                  groupCheckboxes=False).add_to(fmap)
    _add_tools(fmap, spec)
    draw = plugins.Draw(export=False, position="topleft",
                        draw_options={"polyline": {"shapeOptions": {"color": "#d62728"}},
                                      "polygon": {"shapeOptions": {"color": "#d62728"}},
                                      "circle": {"shapeOptions": {"color": "#d62728"}},
                                      "rectangle": {"shapeOptions": {"color": "#d62728"}},
                                      "marker": False, "circlemarker": False},
                        edit_options={"edit": False})
    draw.add_to(fmap)
    title = "Bản đồ quy hoạch Đà Nẵng" if spec.lang == "vi" else "Da Nang planning map"
    config = page_config(spec, overlay_vars, base_vars, fmap.get_name(), draw.get_name())
    PageScript(config, title, spec.asset_version).add_to(fmap)
    localise_assets(fmap)
    return fmap


def _add_tools(fmap: folium.Map, spec: MapSpec) -> None:
    vi = spec.lang == "vi"
    plugins.Fullscreen(position="topleft", title="Toàn màn hình" if vi else "Full screen",
                       title_cancel="Thoát toàn màn hình" if vi else "Exit full screen",
                       ).add_to(fmap)
    plugins.LocateControl(position="topleft", flyTo=True, showPopup=False,
                          strings={"title": "Vị trí của tôi" if vi else "Show my location"}
                          ).add_to(fmap)
    plugins.MeasureControl(position="topleft", primary_length_unit="meters",
                           secondary_length_unit="kilometers", primary_area_unit="sqmeters",
                           secondary_area_unit="hectares", decPoint="," if vi else ".",
                           thousandsSep="." if vi else ",").add_to(fmap)
    city = BASE_MAPS[0]
    plugins.MiniMap(tile_layer=folium.TileLayer(tiles=city.url, attr=city.attribution,
                                                max_native_zoom=city.max_native_zoom),
                    position="bottomright", toggle_display=True, zoom_level_offset=-5,
                    width=140, height=120).add_to(fmap)


def render_page(spec: MapSpec) -> str:
    """The complete HTML of a map page."""
    return build_map(spec).get_root().render()
