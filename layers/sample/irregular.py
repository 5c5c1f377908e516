"""A raw GeoJSON file of parcels with deliberate problems, for import tests: what GIS
staff really receive. Written from fixed coordinates in Hải Châu (no randomness)."""
from __future__ import annotations

import json
from pathlib import Path

from .extent import CENTRE

WARD = "20242"          # Phường Hải Châu (from 1 July 2025)
SHEET = 901             # sheets the sample city never uses, so imports do not collide


def _square(col: int, row: int, size: float = 0.00012) -> list:
    x0 = CENTRE[0] + 0.004 + col * size * 1.5
    y0 = CENTRE[1] + 0.004 + row * size * 1.5
    return [[[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]]


def _bow_tie(col: int, row: int, size: float = 0.00012) -> list:
    x0 = CENTRE[0] + 0.004 + col * size * 1.5
    y0 = CENTRE[1] + 0.004 + row * size * 1.5
    return [[[x0, y0], [x0 + size, y0 + size], [x0 + size, y0], [x0, y0 + size], [x0, y0]]]


def _props(parcel_no: int, **overrides) -> dict:
    props = {"ward_code": WARD, "sheet_no": SHEET, "parcel_no": parcel_no,
             "area_m2": 160.0, "land_use": "ODT", "owner_type": "household",
             "address": f"{parcel_no * 2} Trần Phú, Phường Hải Châu", "certificate_no": None}
    props.update(overrides)
    return props


def write_irregular_file(path) -> dict:
    """Write the file; return what is in it: feature count, how many are clean, and the
    indexes (0-based, in file order) of each kind of problem."""
    features, problems = [], {"invalid_geometry": [], "empty_geometry": [],
                              "wrong_geometry_type": [], "duplicate_key": [],
                              "missing_attribute": []}

    def add(geometry, props, problem=None):
        if problem:
            problems[problem].append(len(features))
        features.append({"type": "Feature", "properties": props, "geometry": geometry})

    for k in range(8):
        add({"type": "Polygon", "coordinates": _square(k, 0)}, _props(k + 1))
    add({"type": "Polygon", "coordinates": _bow_tie(0, 1)}, _props(101), "invalid_geometry")
    add({"type": "MultiPolygon", "coordinates": [_bow_tie(1, 1)]}, _props(102), "invalid_geometry")
    add({"type": "Polygon", "coordinates": []}, _props(103), "empty_geometry")
    add({"type": "Point", "coordinates": [CENTRE[0] + 0.0045, CENTRE[1] + 0.0046]}, _props(104),
        "wrong_geometry_type")
    add({"type": "Polygon", "coordinates": _square(3, 2)}, _props(3), "duplicate_key")
    add({"type": "Polygon", "coordinates": _square(4, 2)},
        {k: v for k, v in _props(105).items() if k != "land_use"}, "missing_attribute")
    Path(path).write_text(json.dumps({"type": "FeatureCollection", "name": "thua_dat_loi",
                                      "features": features}, ensure_ascii=False, indent=1),
                          encoding="utf-8")
    bad = {i for ids in problems.values() for i in ids}
    return {"path": str(path), "layer": "parcels", "features": len(features),
            "valid": len(features) - len(bad), "natural_key": ["ward_code", "sheet_no", "parcel_no"],
            "duplicate_of": {problems["duplicate_key"][0]: 2}, **problems}
