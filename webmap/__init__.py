"""The Flask application: OGC API endpoints, tile endpoints and the planners' map.
The only package that imports flask or folium."""
