"""A checked batch written in one statement: `INSERT ... SELECT FROM
json_to_recordset(:batch) ON CONFLICT (station_id, counted_at) DO UPDATE ... WHERE the
row differs`, the whole batch bound as one JSON parameter, and its `meta.audit` row in
the same statement (none when nothing changed). Re-sending a batch changes nothing
(idempotent on station + hour); the answer says how many rows were inserted, updated and
left unchanged. The writer's attribution GUCs are set first, in the caller's
transaction, so the database's triggers (history, feed) see who wrote."""
from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gisdb.attribution import Writer, attribute
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
), audited AS (
  INSERT INTO meta.audit (actor, source, comment, request_id, remote_addr, action, layer,
                          feature_ids, n_features)
  SELECT :actor, :source, :comment, :request_id, :remote_addr, 'counts', 'traffic_counts',
         ARRAY[CAST(:station AS bigint)], count(*)
    FROM written HAVING count(*) > 0
)
SELECT count(*) FILTER (WHERE inserted) AS inserted,
       count(*) FILTER (WHERE NOT inserted) AS updated
  FROM written
""")
STATION_LOCK = sa.text("SELECT id FROM traffic.traffic_stations WHERE id = :station FOR KEY SHARE")


def write_counts(conn: Connection, station_id: int, observations: list[Observation],
                 writer: Writer) -> dict:
    """Insert or update the station's hours as `writer`; {inserted, updated, unchanged}.
    NotFound for an unknown station (checked in the same transaction, the row held)."""
    attribute(conn, actor=writer.actor, source=writer.source, request_id=writer.request_id,
              comment=writer.comment)
    if conn.execute(STATION_LOCK, {"station": station_id}).scalar() is None:
        raise NotFound(f"no traffic station with id {station_id}")
    payload = json.dumps([o.as_json() for o in observations])
    who = {"actor": writer.actor, "source": writer.source, "comment": writer.comment,
           "request_id": writer.request_id, "remote_addr": writer.remote_addr}
    inserted, updated = conn.execute(UPSERT, {"station": station_id, "batch": payload, **who}).one()
    return {"inserted": int(inserted), "updated": int(updated),
            "unchanged": len(observations) - int(inserted) - int(updated)}
