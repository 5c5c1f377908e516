"""Map tiles: vector tiles (MVT) built by PostGIS, raster tiles, the tile cache that
follows data versions, TileJSON, and seeding to MBTiles / PMTiles. Pure functions and
small classes returning bytes and a media type; `webmap` serves them over HTTP."""
