"""Label rules of the PNG tiles (tiles.mapnik_style): decluttered by zoom (codes and
numbers only when zoomed right in) and by priority (ward and street names placed first
when layers share a tile)."""
from __future__ import annotations

import re

from layers.registry import ALL_LAYERS, get_layer
from tiles.mapnik_style import label_min_zoom, map_xml
from webmap.map_build import stack_index


def test_codes_and_numbers_wait_until_street_names_have_room():
    zoom = {layer.id: label_min_zoom(layer) for layer in ALL_LAYERS if layer.label_field}
    assert zoom["admin_units"] <= 12                # ward names at city zoom
    assert zoom["roads"] <= 14
    for crowded in ("parcels", "buildings", "permits", "incidents", "cameras", "intersections"):
        assert zoom[crowded] > 18, crowded          # z17-18 belong to the street names


def test_labels_are_placed_in_order_of_importance():
    xml = map_xml(("parcels", "permits", "buildings", "roads", "admin_units", "zoning"))
    order = re.findall(r'<Layer name="(\w+)__labels"', xml)
    assert order == ["admin_units", "roads", "zoning", "permits", "buildings", "parcels"]
    # every geometry is drawn before the first label
    layers = re.findall(r'<Layer name="(\w+)"', xml)
    first_label = min(i for i, name in enumerate(layers) if name.endswith("__labels"))
    assert all(not name.endswith("__labels") for name in layers[:first_label])
    assert first_label == 6


def test_overlays_stack_in_a_fixed_order():
    index = {layer.id: stack_index(layer.id) for layer in ALL_LAYERS}
    assert index["parcels"] < index["zoning"] < index["buildings"] < index["roads"]
    assert index["roads"] < index["admin_units"] < index["permits"]
    assert len(set(index.values())) == len(index)
    assert get_layer("zoning").style.fill_opacity < 0.5      # the plan lets the cadastre show
