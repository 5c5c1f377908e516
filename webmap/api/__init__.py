"""The OGC API - Features core (Parts 1, 2, 3): framework-free, so every function takes
plain values (query pairs, base URL, format) and returns documents or `ApiResponse`s.
`webmap.ogc_views` is the thin Flask layer over it."""
