"""The import engine behind `gisdb import`: safe opening of Shapefile, GeoJSON,
GeoPackage, FlatGeobuf and CSV files, CRS and encoding detection, staging with binary
COPY, validation and repair in SQL, atomic apply (append, replace, upsert on the natural
key), a report and a log. Generic over any table described by an `ImportTarget`; the
layer registry supplies those (see `layers.importing`)."""
from .mapping import FieldMapping
from .pipeline import ImportOptions, run_import
from .report import ImportReport
from .target import ImportTarget, target_from_table

__all__ = ["FieldMapping", "ImportOptions", "ImportReport", "ImportTarget", "run_import",
           "target_from_table"]
