"""Landing page and conformance declaration. Only classes the service really
implements are declared (and the tests exercise each)."""
from __future__ import annotations

from layers.layer import GROUPS
from layers.registry import layers_by_group

from .links import link, self_and_alternate
from .params import only_known, output_format
from .processes import PROCESSES_CONFORMANCE
from .response import HTML, JSON, OPENAPI, ApiResponse

TILES = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
TILES_CONFORMANCE = tuple(TILES + name for name in (
    "core", "tileset", "tilesets-list", "geodata-tilesets", "oas30", "mvt", "png"))
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/accent-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    "http://www.opengis.net/spec/cql2/1.0/conf/arithmetic",
    *TILES_CONFORMANCE,
    *PROCESSES_CONFORMANCE,
)
# OGC API - Features Part 4 (draft, OGC 20-002): declared only while writes are on
WRITES_CONFORMANCE = tuple("http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/" + name
                           for name in ("create-replace-delete", "update", "features"))
TITLE = "Da Nang urban GIS"


def landing(pairs, *, base: str, accept_html: bool) -> ApiResponse:
    fmt = output_format(only_known(pairs, ("f",)).get("f"), accept_html)
    groups = [{"id": gid, "title_vi": GROUPS[gid][0], "title_en": GROUPS[gid][1],
               "layers": [{"id": l.id, "title_vi": l.title_vi, "title_en": l.title_en,
                           "geometry": l.geometry_type} for l in layers]}
              for gid, layers in layers_by_group().items()]
    doc = {
        "title": TITLE,
        "description": "Land, construction and traffic layers of Da Nang (OGC API - Features).",
        "links": self_and_alternate(base + "/", "", fmt) + [
            link(f"{base}/api", "service-desc", OPENAPI, "the API definition (OpenAPI 3.0)"),
            link(f"{base}/api?f=html", "service-doc", HTML, "the API documentation"),
            link(f"{base}/conformance", "conformance", JSON, "conformance classes"),
            link(f"{base}/collections", "data", JSON, "the collections (layers)"),
            link(f"{base}/tileMatrixSets", "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
                 JSON, "the tiling schemes (tile matrix sets)"),
            link(f"{base}/processes", "http://www.opengis.net/def/rel/ogc/1.0/processes", JSON,
                 "the analyses (OGC API - Processes)"),
            link(f"{base}/jobs", "http://www.opengis.net/def/rel/ogc/1.0/job-list", JSON,
                 "the caller's jobs"),
        ],
        "groups": groups,
    }
    return ApiResponse(media_type=JSON if fmt == "json" else HTML, document=doc,
                       template="ogc/landing.html")


def conformance(pairs, *, base: str, accept_html: bool, writes: bool = False) -> ApiResponse:
    fmt = output_format(only_known(pairs, ("f",)).get("f"), accept_html)
    doc = {"conformsTo": list(CONFORMANCE) + (list(WRITES_CONFORMANCE) if writes else []),
           "links": self_and_alternate(f"{base}/conformance", "", fmt)}
    return ApiResponse(media_type=JSON if fmt == "json" else HTML, document=doc,
                       template="ogc/conformance.html")
