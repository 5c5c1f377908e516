"""History of every change to the layers, kept by the database itself (statement-level
triggers over transition tables), so API writes, imports, `gisdb edit` and a DBA's
plain SQL are all recorded: `tables` (the version tables and the change log),
`triggers` (their DDL), `as_of` (time travel), `feature_history`, `diff`, `revert`."""
