"""Database core of the Da Nang urban GIS: settings, the embedded PostGIS cluster,
engine and sessions, the declarative base and schema helpers, and the error tree."""
