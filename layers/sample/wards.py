"""The real wards and communes of Da Nang and their official codes, matched to the ward
boundaries shipped with the base map (`layers/basemap/`, by OpenStreetMap relation id).

Before 1 July 2025: the General Statistics Office (GSO) codes of the 56 wards and
communes of the seven districts (districts 490-497, city 48). From 1 July 2025: the codes
of Công văn 1027/CTK-CSCL (25 June 2025) for the 14 wards and communes of the old city
that the OpenStreetMap extract holds (Xã Bà Nà, 20308, is missing from it, so the sample
leaves its land empty). OpenStreetMap reuses some relations across the reform (the old
Hòa Cường Bắc is the new Hòa Cường), so the two periods are looked up separately.
"""
from __future__ import annotations

import datetime as dt

CITY = ("48", "Thành phố Đà Nẵng")
CITY_FROM = dt.date(1997, 1, 1)
CAM_LE_FROM = dt.date(2005, 8, 5)          # Quận Cẩm Lệ was created then
REFORM = dt.date(2025, 7, 1)               # first day of the new wards; old ones end before it

# district code -> (name, abbreviation used in zone codes)
DISTRICTS = {
    "490": ("Quận Liên Chiểu", "LC"), "491": ("Quận Thanh Khê", "TK"),
    "492": ("Quận Hải Châu", "HC"), "493": ("Quận Sơn Trà", "ST"),
    "494": ("Quận Ngũ Hành Sơn", "NHS"), "495": ("Quận Cẩm Lệ", "CL"),
    "497": ("Huyện Hòa Vang", "HV"),
}

# OSM relation id -> (GSO code, district code), before the reform
OLD_WARDS = {
    "14651843": ("20194", "490"), "14651842": ("20195", "490"), "14651841": ("20197", "490"),
    "14651840": ("20198", "490"), "14651839": ("20200", "490"),
    "13995328": ("20203", "491"), "13981044": ("20206", "491"), "13995326": ("20207", "491"),
    "13995327": ("20209", "491"), "13995455": ("20212", "491"), "13995456": ("20215", "491"),
    "13995458": ("20218", "491"), "13995457": ("20221", "491"), "13981042": ("20224", "491"),
    "13981043": ("20225", "491"),
    "13969674": ("20227", "492"), "13969675": ("20230", "492"), "13969676": ("20233", "492"),
    "13969677": ("20236", "492"), "13969678": ("20239", "492"), "13969679": ("20242", "492"),
    "13967815": ("20245", "492"), "13967816": ("20246", "492"), "13967779": ("20248", "492"),
    "13967780": ("20251", "492"), "13967781": ("20254", "492"), "13967817": ("20257", "492"),
    "13967818": ("20258", "492"),
    "13996982": ("20263", "493"), "13996981": ("20266", "493"), "13996980": ("20269", "493"),
    "13996723": ("20272", "493"), "13996724": ("20275", "493"), "13996721": ("20278", "493"),
    "13996722": ("20281", "493"),
    "13967843": ("20284", "494"), "13967842": ("20285", "494"), "7053088": ("20287", "494"),
    "13967841": ("20290", "494"),
    "13967825": ("20260", "495"), "7057630": ("20305", "495"), "13967724": ("20306", "495"),
    "13967823": ("20311", "495"), "13967824": ("20312", "495"), "13967826": ("20314", "495"),
    "15848510": ("20293", "497"), "15848509": ("20296", "497"), "15848508": ("20299", "497"),
    "15848507": ("20302", "497"), "15848506": ("20308", "497"), "15848505": ("20317", "497"),
    "15848504": ("20320", "497"), "15848501": ("20323", "497"), "15848502": ("20326", "497"),
    "15848500": ("20329", "497"), "15848503": ("20332", "497"),
}

# OSM relation id -> code, from the reform
NEW_WARDS = {
    "13969677": "20242",   # Phường Hải Châu
    "13967817": "20257",   # Phường Hòa Cường
    "13995327": "20209",   # Phường Thanh Khê
    "13981042": "20305",   # Phường An Khê
    "13996723": "20275",   # Phường An Hải
    "13996982": "20263",   # Phường Sơn Trà
    "13967842": "20285",   # Phường Ngũ Hành Sơn
    "14651840": "20200",   # Phường Hòa Khánh
    "14651843": "20194",   # Phường Hải Vân
    "15848509": "20197",   # Phường Liên Chiểu
    "13967823": "20260",   # Phường Cẩm Lệ
    "13967826": "20314",   # Phường Hòa Xuân
    "15848504": "20320",   # Xã Hòa Vang
    "15848502": "20332",   # Xã Hòa Tiến
}


def relation(osm_id: str) -> str:
    """"relation/13969677" -> "13969677"."""
    return osm_id.rsplit("/", 1)[-1]
