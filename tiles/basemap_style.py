"""Cartography of the offline base map of the real Da Nang: Mapnik XML that reads the
shipped files (`layers.basemap`: a GeoPackage through Mapnik's `ogr` input, the hillshade
GeoTIFF through its `gdal` input) directly, so the base map needs no database.

Bottom to top: land (the background), OSM land use, the DEM's hillshade multiplied over
it, rivers and lakes, the sea, ward boundaries before (thin, dashed, from z12) and after
1 July 2025, then ward names: the 2025 wards at city zooms, the older, smaller wards
from z14. Zoom ranges are scale-denominator rules, so @2x tiles follow the same zooms.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from layers.basemap import BASEMAP_DIR, hillshade_path, vector_path

from .mapnik_style import BUFFER_PX, FONT_FACE, FONT_FACE_BOLD

LAND = "#f3f0ea"
WATER = "#a5cbe1"
WATER_EDGE = "#87b4cf"
WARD_2025 = "#7b5592"
WARD_PRE2025 = "#a795b3"
HILLSHADE_OPACITY = ((None, 13, 0.65), (14, 15, 0.45), (16, None, 0.3))  # zooms, opacity
Z0_SCALE = 559082264.028          # scale denominator of zoom 0 for 256 px tiles
# land use value -> fill
LANDUSE_FILL = {
    "residential": "#e5e0d8", "commercial": "#f0dad3", "retail": "#f0dad3",
    "industrial": "#e3d8e2", "depot": "#e3d8e2", "railway": "#e3d8e2", "quarry": "#ddd6d0",
    "landfill": "#ddd6d0", "construction": "#e0dcc9", "brownfield": "#e0dcc9",
    "greenfield": "#e6e8cf", "military": "#efd8cf", "farmland": "#ebefd0",
    "paddy": "#e2ecc2", "farmyard": "#efe3cf", "greenhouse_horticulture": "#e6edd0",
    "allotments": "#e1ebc8", "orchard": "#d9eac0", "forest": "#b5d4a0",
    "grass": "#d3ebb7", "meadow": "#d8ecbc", "recreation_ground": "#cbe8b0",
    "flowerbed": "#cbe8b0", "cemetery": "#c2d9be", "religious": "#e9ded0",
    "education": "#efe6c8", "aquaculture": "#bcd8e4",
}


def scale_at(z: float) -> float:
    return Z0_SCALE / 2 ** z


def _zooms(min_zoom: int | None = None, max_zoom: int | None = None) -> str:
    """Scale-denominator limits drawing a rule from `min_zoom` to `max_zoom` included."""
    out = ""
    if min_zoom is not None:
        out += f"<MaxScaleDenominator>{scale_at(min_zoom - 0.5):.0f}</MaxScaleDenominator>"
    if max_zoom is not None:
        out += f"<MinScaleDenominator>{scale_at(max_zoom + 0.5):.0f}</MinScaleDenominator>"
    return out


def _attrs(**values) -> str:
    return " ".join(f"{name.replace('_', '-')}={quoteattr(str(value))}"
                    for name, value in values.items() if value is not None)


def _rule(body: str, where: str | None = None, zooms: str = "") -> str:
    condition = f"<Filter>{escape(where)}</Filter>" if where else ""
    return f"<Rule>{zooms}{condition}{body}</Rule>"


def _style(name: str, rules: list[str], **attrs) -> str:
    return f"<Style {_attrs(name=name, **attrs)}>{''.join(rules)}</Style>"


def _datasource(**params) -> str:
    return ("<Datasource>" + "".join(f"<Parameter name={quoteattr(k)}>{escape(str(v))}</Parameter>"
                                     for k, v in params.items()) + "</Datasource>")


def _layer(name: str, styles: list[str], datasource: str) -> str:
    style_names = "".join(f"<StyleName>{escape(s)}</StyleName>" for s in styles)
    return f"<Layer {_attrs(name=name, srs='epsg:3857')}>{style_names}{datasource}</Layer>"


def _polygon(fill: str, opacity: float = 1.0) -> str:
    return f"<PolygonSymbolizer {_attrs(fill=fill, fill_opacity=opacity, gamma=0.7)}/>"


def _line(stroke: str, width: float, **extra) -> str:
    return f"<LineSymbolizer {_attrs(stroke=stroke, stroke_width=width, stroke_linejoin='round', **extra)}/>"


def _landuse_style() -> str:
    rules = [_rule(_polygon(fill), f"[kind] = '{kind}'") for kind, fill in LANDUSE_FILL.items()]
    return _style("landuse", rules)


def _water_style() -> str:
    return _style("water", [_rule(_polygon(WATER), zooms=_zooms(None, 13)),
                            _rule(_polygon(WATER) + _line(WATER_EDGE, 0.6), zooms=_zooms(14))])


def _ward_styles() -> list[str]:
    pre = _style("wards_pre2025", [_rule(_line(WARD_PRE2025, 0.9, stroke_dasharray="4, 3"),
                                         zooms=_zooms(12))])
    current = _style("wards_2025", [
        _rule(_line("#ffffff", 3.2, stroke_opacity=0.6) + _line(WARD_2025, 1.1), zooms=_zooms(None, 12)),
        _rule(_line("#ffffff", 4.0, stroke_opacity=0.6) + _line(WARD_2025, 1.6), zooms=_zooms(13))])
    return [pre, current]


def _text(size: float, colour: str, bold: bool = False, halo: float = 1.8) -> str:
    attrs = _attrs(face_name=FONT_FACE_BOLD if bold else FONT_FACE, size=size, fill=colour,
                   halo_fill="#ffffff", halo_radius=halo, wrap_width=80, placement="point",
                   margin=3, avoid_edges="false")      # (minimum-padding: off the tile edge)
    return f"<TextSymbolizer {attrs}>[name]</TextSymbolizer>"


def _label_style() -> str:
    current, older = "[period] = '2025'", "[period] = 'pre2025'"
    return _style("ward_labels", [
        _rule(_text(10.5, WARD_2025, bold=True), current, _zooms(10, 11)),
        _rule(_text(12.5, WARD_2025, bold=True), current, _zooms(12, 14)),
        _rule(_text(11, "#6a5a76"), older, _zooms(14, 15)),
        _rule(_text(12.5, "#6a5a76"), older, _zooms(16)),
    ])


def _hillshade_style() -> str:
    rules = []
    for min_zoom, max_zoom, opacity in HILLSHADE_OPACITY:
        symbolizer = _attrs(opacity=opacity, comp_op="multiply", scaling="bilinear")
        rules.append(_rule(f"<RasterSymbolizer {symbolizer}/>", zooms=_zooms(min_zoom, max_zoom)))
    return _style("hillshade", rules)


@lru_cache(maxsize=4)
def base_map_xml(directory: Path = BASEMAP_DIR) -> str:
    """Mapnik XML of the whole base map, reading the files in `directory`."""
    gpkg = str(vector_path(directory))

    def vectors(layer: str) -> str:
        return _datasource(type="ogr", file=gpkg, layer=layer)

    styles = [_landuse_style(), _hillshade_style(), _water_style(),
              _style("sea", [_rule(_polygon(WATER))]), *_ward_styles(), _label_style()]
    layers = [
        _layer("landuse", ["landuse"], vectors("landuse")),
        _layer("hillshade", ["hillshade"], _datasource(type="gdal", file=str(hillshade_path(directory)))),
        _layer("water", ["water"], vectors("water")),
        _layer("sea", ["sea"], vectors("sea")),
        _layer("wards_pre2025", ["wards_pre2025"], vectors("wards_pre2025")),
        _layer("wards_2025", ["wards_2025"], vectors("wards_2025")),
        _layer("ward_labels", ["ward_labels"], vectors("ward_labels")),
    ]
    attrs = _attrs(srs="epsg:3857", buffer_size=BUFFER_PX, background_color=LAND)
    return f"<Map {attrs}>{''.join(styles)}{''.join(layers)}</Map>"
