"""The one write path: API edits (OGC API - Features Part 4, transactions), `gisdb edit`
and the importer share the importer's validation (geometry repair or rejection, the
region check, types, constraints, natural keys, references), here applied to features
given as GeoJSON or merge patches, with a version check on every change of an existing
feature. Each change set is one statement per layer and operation (validation and write
together), in one transaction with its attribution and its audit row."""
from .changes import Change, parse_change
from .versions import version_from_etag
from .write import Batch, Result, write_batches

__all__ = ["Batch", "Change", "Result", "parse_change", "version_from_etag", "write_batches"]
