"""A checked batch written in one statement: `INSERT ... SELECT FROM
json_to_recordset(:batch) ON CONFLICT (station_id, counted_at) DO UPDATE ... WHERE the
row differs`, the whole batch bound as one JSON parameter. Re-sending a batch changes
nothing (idempotent on station + hour); the answer says how many rows were inserted,
updated and left unchanged. The caller owns the transaction (attribution, audit)."""
from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gisdb.errors import NotFound

from .observations import Observation

UPSERT = sa.text("""
WITH obs AS (
  SELECT * FROM json_to_recordset(CAST(:batch AS json))
    AS o("time" timestamptz, motorbikes integer, cars integer, trucks integer, buses integer,
         avg_speed_kmh numeric)
), written AS (
  INSERT INTO traffic.traffic_counts AS c
         (station_id, counted_at, motorbikes, cars, trucks, buses, avg_speed_kmh)
  SELECT :station, "time", motorbikes, cars, trucks, buses, avg_speed_kmh FROM obs
  ON CONFLICT (station_id, counted_at) DO UPDATE
     SET motorbikes = EXCLUDED.motorbikes, cars = EXCLUDED.cars, trucks = EXCLUDED.trucks,
         buses = EXCLUDED.buses, avg_speed_kmh = EXCLUDED.avg_speed_kmh
   WHERE (c.motorbikes, c.cars, c.trucks, c.buses, c.avg_speed_kmh)
         IS DISTINCT FROM (EXCLUDED.motorbikes, EXCLUDED.cars, EXCLUDED.trucks,
                           EXCLUDED.buses, EXCLUDED.avg_speed_kmh)
  RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted,
       count(*) FILTER (WHERE NOT inserted) AS updated
  FROM written
""")
STATION_LOCK = sa.text("SELECT id FROM traffic.traffic_stations WHERE id = :station FOR KEY SHARE")


def write_counts(conn: Connection, station_id: int, observations: list[Observation]) -> dict:
    """Insert or update the station's hours; {inserted, updated, unchanged}. NotFound
    for an unknown station (checked in the same transaction, the row held)."""
    if conn.execute(STATION_LOCK, {"station": station_id}).scalar() is None:
        raise NotFound(f"no traffic station with id {station_id}")
    payload = json.dumps([o.as_json() for o in observations])
    inserted, updated = conn.execute(UPSERT, {"station": station_id, "batch": payload}).one()
    return {"inserted": int(inserted), "updated": int(updated),
            "unchanged": len(observations) - int(inserted) - int(updated)}
