"""What the write tests share: features of their own (codes `WR-...`) in central Da Nang,
a digest of a whole layer to prove a refused write changed nothing, and a writer."""
from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa

from gisdb.attribution import Writer
from layers.registry import get_layer

LON0, LAT0 = 108.215, 16.06
TESTER = Writer(actor="tester", source="cli", comment="test")
GEOJSON = "application/geo+json"
PATCH = "application/merge-patch+json"


def polygon(lon: float, lat: float, size: float = 0.0003) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def building(code: str, lon: float = LON0, lat: float = LAT0, **props) -> dict:
    """A GeoJSON building feature."""
    return {"type": "Feature", "geometry": polygon(lon, lat),
            "properties": {"building_code": code, "use": "residential", "floors": 3, **props}}


def layer_digest(engine: sa.Engine, layer_id: str) -> str:
    """A digest of a layer's state (row count, highest id, newest row version) and of the
    audit trail's length: any insert, update or delete moves one of them, so equal
    before and after means nothing changed."""
    table = get_layer(layer_id).table
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            f"SELECT count(*), max(id), max(xmin::text::bigint) FROM {table.schema}.{table.name}")).one()
        audit = conn.execute(sa.text("SELECT count(*) FROM meta.audit")).scalar()
    return hashlib.sha256(f"{tuple(rows)}|{audit}".encode()).hexdigest()


def auth(key: str, **headers) -> dict:
    """Headers with the key as a bearer credential."""
    return {"Authorization": f"Bearer {key}", **headers}


def create(wc, key, feature, layer="buildings", **headers):
    """POST a feature (the answer)."""
    return wc.post(f"/collections/{layer}/items", data=json.dumps(feature),
                   headers=auth(key, **{"Content-Type": GEOJSON, **headers}))


def made(wc, key, code, **props) -> tuple[int, str]:
    """Create a building; its id and ETag."""
    resp = create(wc, key, building(code, **props))
    assert resp.status_code == 201, resp.get_json()
    return int(resp.headers["Location"].rsplit("/", 1)[1]), resp.headers["ETag"]
