"""Planning analyses across layers: the rule catalogue, the violations layer and the
compliance verdict of a single feature (issue 14)."""
