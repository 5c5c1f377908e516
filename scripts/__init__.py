"""The `gisdb` command line: thin click wrappers over the packages."""
