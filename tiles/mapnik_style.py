"""Mapnik cartography built from the layer registry: the PNG tiles draw every layer with
its registry `Style` (stroke, fill, width, dash, point radius, per-category colours), so
the raster tiles, the vector map and the legend show the same colours.

The style is a Mapnik XML document generated from the registry (never from user input)
and cached per set of layers. Each drawn layer has two Mapnik layers: `<id>` with its
geometries and `<id>__labels` with its labels (line labels follow roads, the others sit
on a point inside the feature), drawn after every geometry so labels stay on top.
Labels use DejaVu Sans from Debian's fonts-dejavu-core, which has every Vietnamese glyph;
no font is downloaded.

The offline base map of the real Da Nang has its own cartography, `tiles.basemap_style`.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from layers.layer import Layer, Style
from layers.registry import get_layer
from layers.themes import get_theme

from .grid import WEB_MERCATOR_QUAD

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/noto"))
FONT_FACE = "DejaVu Sans Book"
FONT_FACE_BOLD = "DejaVu Sans Bold"
LABEL_SUFFIX = "__labels"
BUFFER_PX = 64                       # pixels drawn around a tile so symbols and labels join up
GEOMETRY_RANK = {"MultiPolygon": 0, "Polygon": 0, "MultiLineString": 1, "LineString": 1,
                 "Point": 2, "MultiPoint": 2}
# Labels are decluttered by zoom and by priority. The first zoom at which a layer's
# labels are drawn: ward names from city zoom, street names and project names from the
# district zoom, zone codes and counting stations a little later, and the codes and
# numbers that fill every block (parcel and permit numbers, building codes, incident
# codes, camera and intersection names) only from z19, so at z17-18 nothing crowds out
# the street names (others: 3 zooms past the layer's first zoom, never before 15).
LABEL_MIN_ZOOM = {"admin_units": 12, "roads": 14, "projects": 15, "zoning": 16,
                  "traffic_stations": 17, "incidents": 19, "intersections": 19, "cameras": 19,
                  "parcels": 19, "buildings": 19, "permits": 19}
# When several layers share a tile, Mapnik places earlier labels first and drops later
# ones that would collide: the order of importance (layers not named come last).
LABEL_PRIORITY = ("admin_units", "roads", "projects", "zoning", "traffic_stations",
                  "incidents", "intersections", "cameras", "permits", "buildings", "parcels")
# Label size (px) and colour per layer; the rest are 10 px dark grey.
LABEL_LOOK = {"admin_units": (13, "#4a1a5c"), "roads": (11.5, "#1a1a1a"),
              "projects": (11, "#990000"), "zoning": (10, "#1c4587")}


_DATA_ENV = ("PROJ_LIB", "PROJ_DATA", "GDAL_DATA")


@lru_cache(maxsize=1)
def load_mapnik():
    """The `mapnik` module, imported without repointing GDAL and PROJ for the whole
    process: on import the wheel sets PROJ_LIB and GDAL_DATA (when unset) to its own
    copies, from another PROJ version, after which rasterio fails with "Cannot find
    proj.db". Our maps are drawn in one CRS end to end (EPSG:3857, or EPSG:4326 for
    WorldCRS84Quad tiles), so Mapnik needs neither."""
    import rasterio  # noqa: F401  (rasterio settles its own data paths first)
    before = {key: os.environ.get(key) for key in _DATA_ENV}
    import mapnik
    for key, value in before.items():
        if value is None:
            os.environ.pop(key, None)
    return mapnik


class FontsMissing(RuntimeError):
    """No font directory with DejaVu Sans: install Debian's fonts-dejavu-core."""


@lru_cache(maxsize=1)
def register_fonts() -> str:
    """Register the system font directories with Mapnik once; returns the label face."""
    mapnik = load_mapnik()
    found = False
    for directory in FONT_DIRS:
        if directory.is_dir():
            mapnik.register_fonts(str(directory))
            found = True
    if not found or FONT_FACE not in set(mapnik.FontEngine.face_names()):
        raise FontsMissing(f"font {FONT_FACE!r} not found in {', '.join(map(str, FONT_DIRS))}: "
                           "install fonts-dejavu-core")
    return FONT_FACE


def label_min_zoom(layer: Layer) -> int:
    return LABEL_MIN_ZOOM.get(layer.id, max(layer.min_zoom + 3, 15))


def label_priority(layer: Layer) -> int:
    """0 for the most important labels (ward names), larger for less important ones."""
    return LABEL_PRIORITY.index(layer.id) if layer.id in LABEL_PRIORITY else len(LABEL_PRIORITY)


def geometry_rank(layer: Layer) -> int:
    """0 polygons, 1 lines, 2 points."""
    return geometry_rank_of(layer.geometry_type)


def geometry_rank_of(geometry_type: str) -> int:
    return GEOMETRY_RANK.get(geometry_type, 0)


def draw_order(layers: list[Layer]) -> list[Layer]:
    """Polygons under lines under points; registry order within each kind."""
    return sorted(layers, key=geometry_rank)


@dataclass(frozen=True)
class Paint:
    """One colour variant of a layer's symbolizers (a category, or the default)."""

    stroke: str
    fill: str | None


# --- XML pieces ----------------------------------------------------------------------------

def _attrs(**values) -> str:
    return " ".join(f"{name.replace('_', '-')}={quoteattr(str(value))}"
                    for name, value in values.items() if value is not None)


def _dash(style: Style) -> str | None:
    if not style.dash:
        return None
    return ", ".join(part for part in style.dash.replace(",", " ").split())


def _paints(style: Style, geometry_type: str) -> list[tuple[str | None, Paint]]:
    """(category value or None for the default rule, paint). Categories colour polygon
    and point fills, and the stroke of lines."""
    is_line = geometry_rank_of(geometry_type) == 1
    default = Paint(stroke=style.stroke, fill=style.fill)
    out: list[tuple[str | None, Paint]] = []
    if style.category_field:
        for value, colour, _vi, _en in style.categories:
            paint = Paint(stroke=colour, fill=style.fill) if is_line else Paint(style.stroke, colour)
            out.append((value, paint))
    out.append((None, default))
    return out


def _symbolizers(style: Style, geometry_type: str, paint: Paint) -> str:
    rank = geometry_rank_of(geometry_type)
    if rank == 0:
        parts = []
        if paint.fill and style.fill_opacity > 0:
            parts.append(f"<PolygonSymbolizer {_attrs(fill=paint.fill, fill_opacity=style.fill_opacity)}/>")
        parts.append(f"<LineSymbolizer {_attrs(stroke=paint.stroke, stroke_width=style.width, stroke_dasharray=_dash(style), stroke_linejoin='round')}/>")
        return "".join(parts)
    if rank == 1:
        casing = _attrs(stroke="#8a8a8a", stroke_width=style.width + 1.5,
                        stroke_linecap="round", stroke_linejoin="round")
        line = _attrs(stroke=paint.stroke, stroke_width=style.width, stroke_dasharray=_dash(style),
                      stroke_linecap="round", stroke_linejoin="round")
        return f"<LineSymbolizer {casing}/><LineSymbolizer {line}/>"
    diameter = 2 * style.radius
    return "<MarkersSymbolizer " + _attrs(
        marker_type="ellipse", width=diameter, height=diameter, fill=paint.fill or paint.stroke,
        fill_opacity=style.fill_opacity, stroke=paint.stroke, stroke_width=style.width,
        allow_overlap="true", ignore_placement="true") + "/>"


def _is(category: str) -> str:
    return "[c] = '" + category.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _rule(body: str, category: str | None, min_zoom: int | None = None,
          listed: tuple[str, ...] = ()) -> str:
    """The rule drawing one category, from `min_zoom` when given (the scale limit is
    halfway to the zoom below). None: every other value, `listed` (the categories) left
    out explicitly, so a category below its first zoom is not drawn in the default paint
    (Mapnik's ElseFilter would draw it: no rule of its scale matched it)."""
    if category is None:
        if not listed:
            return f"<Rule><ElseFilter/>{body}</Rule>"
        others = "not (" + " or ".join(_is(value) for value in listed) + ")"
        return f"<Rule><Filter>{escape(others)}</Filter>{body}</Rule>"
    limit = "" if min_zoom is None else (
        f"<MaxScaleDenominator>{WEB_MERCATOR_QUAD.scale_denominator(min_zoom) * math.sqrt(2):.1f}"
        "</MaxScaleDenominator>")
    return f"<Rule>{limit}<Filter>{escape(_is(category))}</Filter>{body}</Rule>"


def layer_style_xml(layer: Layer, style: Style | None = None) -> str:
    """The `<Style>` drawing `layer`'s geometries (feature property `c` = category) with
    its registry style, or `style` (a thematic colouring) when given."""
    rules = []
    style = style or layer.style
    paints = _paints(style, layer.geometry_type)
    first_zoom = dict(style.category_min_zoom)
    listed = tuple(c for c, _ in paints if c is not None) if first_zoom else ()
    for category, paint in paints:
        body = _symbolizers(style, layer.geometry_type, paint)
        rules.append(f"<Rule>{body}</Rule>" if len(paints) == 1
                     else _rule(body, category, first_zoom.get(category), listed))
    return f"<Style name={quoteattr(layer.id)}>{''.join(rules)}</Style>"


def label_style_xml(name: str, *, geometry_type: str, size: float = 11, colour: str = "#222222",
                    bold: bool = False) -> str:
    """A `<Style>` writing feature property `l` (the label) in DejaVu Sans with a halo."""
    rank = geometry_rank_of(geometry_type)
    attrs = _attrs(face_name=FONT_FACE_BOLD if bold else FONT_FACE, size=size, fill=colour,
                   halo_fill="#ffffff", halo_radius=1.5, wrap_width=90 if rank != 1 else None,
                   placement="line" if rank == 1 else "point", spacing=250 if rank == 1 else None,
                   max_char_angle_delta=30 if rank == 1 else None,
                   dy=(8 if rank == 2 else None), minimum_padding=2,
                   # a line label is placed along the clipped line, which differs from tile
                   # to tile: keep it off the edges so it is never cut; point labels sit at
                   # the same spot in every tile, so they may cross an edge
                   avoid_edges="true" if rank == 1 else "false")
    return (f"<Style name={quoteattr(name)}><Rule><TextSymbolizer {attrs}>[l]</TextSymbolizer>"
            "</Rule></Style>")


def _layer_xml(name: str, style_name: str, srs: str) -> str:
    return (f"<Layer {_attrs(name=name, srs=srs)}>"
            f"<StyleName>{escape(style_name)}</StyleName></Layer>")


def _map_xml(styles: list[str], layers: list[str], srs: str) -> str:
    attrs = _attrs(srs=srs, buffer_size=BUFFER_PX)
    return f"<Map {attrs}>{''.join(styles)}{''.join(layers)}</Map>"


# --- whole maps ----------------------------------------------------------------------------

@lru_cache(maxsize=256)
def map_xml(layer_ids: tuple[str, ...], srid: int = 3857, theme: str | None = None) -> str:
    """Mapnik XML drawing `layer_ids` (in draw order) with their labels on top, in EPSG
    `srid` (the map's and its layers' alike: Mapnik reprojects nothing); a one-layer map
    in the layer's `theme` (`layers.themes`) when given."""
    srs = f"epsg:{int(srid)}"
    layers = draw_order([get_layer(i) for i in layer_ids])
    styles, geometry_layers, label_layers = [], [], []
    for layer in layers:
        chosen = get_theme(layer, theme) if theme else None
        styles.append(layer_style_xml(layer, chosen.style(layer) if chosen else None))
        geometry_layers.append(_layer_xml(layer.id, layer.id, srs))
    # labels in order of importance: Mapnik places earlier labels first
    for layer in sorted(layers, key=label_priority):
        if layer.label_field:
            name = layer.id + LABEL_SUFFIX
            size, colour = LABEL_LOOK.get(layer.id, (10, "#222222"))
            styles.append(label_style_xml(name, geometry_type=layer.geometry_type, size=size,
                                          bold=layer.id == "admin_units", colour=colour))
            label_layers.append(_layer_xml(name, name, srs))
    return _map_xml(styles, geometry_layers + label_layers, srs)
