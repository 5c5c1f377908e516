"""Shared pieces of the history tests (which use a database of their own, the import
tests' `imp_engine`, so their edits never disturb the sample city): small rows written by
plain SQL, and reading them back from the version table and the change log."""
from __future__ import annotations

import sqlalchemy as sa

SQUARE = "SRID=4326;MULTIPOLYGON(((108.21 16.05,108.211 16.05,108.211 16.051,108.21 16.051,108.21 16.05)))"
BIGGER = "SRID=4326;MULTIPOLYGON(((108.21 16.05,108.212 16.05,108.212 16.051,108.21 16.051,108.21 16.05)))"


def attribute(conn, **settings) -> None:
    """Set the attribution GUCs of the current transaction (as every writer does)."""
    for name, value in settings.items():
        conn.execute(sa.text("SELECT set_config(:n, :v, true)"), {"n": "gisdb." + name, "v": str(value)})


def add_parcel(conn, parcel_no: int, *, land_use: str = "ODT", geom: str = SQUARE) -> int:
    """Insert one parcel by plain SQL; returns its id."""
    return conn.execute(sa.text(
        "INSERT INTO land.parcels (ward_code, sheet_no, parcel_no, area_m2, land_use, geom) "
        "VALUES ('20194', 1, :n, 120.5, :lu, ST_GeomFromEWKT(:g)) RETURNING id"),
        {"n": parcel_no, "lu": land_use, "g": geom}).scalar_one()


def versions(conn, feature_id: int) -> list[dict]:
    """Every version of a parcel, oldest first."""
    return [dict(r._mapping) for r in conn.execute(sa.text(
        "SELECT id, land_use, hist_op, hist_from, hist_to, hist_actor, hist_source, hist_import_id, "
        "hist_request_id, hist_comment, hist_change_id FROM history.land__parcels WHERE id = :i "
        "ORDER BY hist_from, hist_change_id"), {"i": feature_id})]


def changes(conn, feature_id: int) -> list[dict]:
    """The change rows of a parcel, oldest first."""
    return [dict(r._mapping) for r in conn.execute(sa.text(
        "SELECT change_id, layer, feature_id, op, actor, source, import_id, request_id "
        "FROM history.changes WHERE layer = 'parcels' AND feature_id = :i ORDER BY change_id"),
        {"i": str(feature_id)})]
