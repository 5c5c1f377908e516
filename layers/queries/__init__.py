"""Spatial queries planners and other systems ask for, framework-free: what is at a
point (identify), features near a point or line, what lies in a drawn area, and
statistics per ward or district. The web views and `gisdb query` are thin calls here."""
from .identify import identify
from .inputs import QueryGeometry, circle, circle_text, geojson_geometry, point
from .proximity import near
from .stats import stats
from .within import within

__all__ = ["identify", "near", "within", "stats", "QueryGeometry", "circle", "circle_text",
           "geojson_geometry", "point"]
