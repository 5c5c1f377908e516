"""Ward and district reports: the figures (`unit_report`, `ward_report`,
`district_report`) and their renderings as CSV, XLSX and PDF. The printable HTML page
is the web's (webmap/templates/reports)."""
from .figures import district_report, unit_report, ward_report

__all__ = ["ward_report", "district_report", "unit_report"]
