"""A tiny test city for the spatial-query and search tests, laid out in metres on
Da Nang's local grid (EPSG:5899) so that areas and lengths are known exactly, and placed
away from the sample city (around 107.0 E, 16.5 N) so that the two never mix.

`insert_query_city(conn)` adds it inside the caller's transaction; the tests roll it
back, so nothing stays behind and other tests' counts are untouched."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from layers.registry import get_layer

X0, Y0 = 420_000.0, 1_825_000.0          # EPSG:5899 origin of the test city (~107.0 E, 16.5 N)
REFORM = dt.date(2025, 7, 1)
CELL = 100.0                             # parcels are 100 m x 100 m squares
GRID = 4                                 # 4 x 4 parcels, two wards of 2 columns each


def box(x: float, y: float, w: float, h: float):
    """A rectangle given in metres on the local grid, as an EPSG:4326 MultiPolygon."""
    return sa.func.ST_Multi(sa.func.ST_Transform(
        sa.func.ST_MakeEnvelope(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h, 5899), 4326))


def line(*points: tuple[float, float]):
    wkt = "LINESTRING(" + ", ".join(f"{X0 + x} {Y0 + y}" for x, y in points) + ")"
    return sa.func.ST_Multi(sa.func.ST_Transform(sa.func.ST_GeomFromText(wkt, 5899), 4326))


def pt(x: float, y: float):
    return sa.func.ST_Transform(sa.func.ST_SetSRID(sa.func.ST_MakePoint(X0 + x, Y0 + y), 5899), 4326)


def lonlat(conn, x: float, y: float) -> tuple[float, float]:
    """(lon, lat) of a local-grid point."""
    g = pt(x, y)
    row = conn.execute(sa.select(sa.func.ST_X(g), sa.func.ST_Y(g))).one()
    return float(row[0]), float(row[1])


def _insert(conn, layer_id: str, rows: list[dict]) -> list[int]:
    table = get_layer(layer_id).table
    keys = {k for row in rows for k in row}
    rows = [{k: row.get(k) for k in keys} for row in rows]
    return [r[0] for r in conn.execute(sa.insert(table).values(rows).returning(table.c.id))]


def insert_query_city(conn) -> dict:
    """Insert the test city; returns ids by name."""
    ids: dict = {}
    W = GRID * CELL
    ids["district"], = _insert(conn, "admin_units", [dict(
        code="QT-D", name="Quận Thử Nghiệm", level="district", valid_from=dt.date(1997, 1, 1),
        valid_to=REFORM, geom=box(0, 0, W, W))])
    ids["old_ward"], = _insert(conn, "admin_units", [dict(
        code="QT-W0", name="Phường Cũ Thử", level="ward", parent_code="QT-D",
        valid_from=dt.date(1997, 1, 1), valid_to=REFORM, geom=box(0, 0, W, W))])
    ids["ward1"], ids["ward2"] = _insert(conn, "admin_units", [
        dict(code="QT-W1", name="Phường Quế Sơn Thử", name_en="Que Son Test Ward", level="ward",
             valid_from=REFORM, geom=box(0, 0, W / 2, W)),
        dict(code="QT-W2", name="Xã Điện Bàn Thử", level="commune", valid_from=REFORM,
             geom=box(W / 2, 0, W / 2, W))])
    parcels = []
    for i in range(GRID):
        for j in range(GRID):
            parcels.append(dict(ward_code="QT-W1" if i < GRID // 2 else "QT-W2", sheet_no=90 + i,
                                parcel_no=100 + j, area_m2=10_000, land_use="ODT",
                                address=f"{j + 1} Đường Lê Thử, Phường Quế Sơn Thử",
                                geom=box(i * CELL, j * CELL, CELL, CELL)))
    ids["parcels"] = _insert(conn, "parcels", parcels)
    ids["zone"], = _insert(conn, "zoning", [dict(zone_code="QT-Z1", name="Khu Thử Nghiệm",
                                                 planned_use="ODT", max_floors=5,
                                                 geom=box(0, 0, W, W))])
    # one 20 m x 20 m building (400 m²) in the middle of each parcel of the first column
    ids["buildings"] = _insert(conn, "buildings", [
        dict(building_code=f"QT-B{j}", floors=(3 if j % 2 == 0 else None), use="residential",
             name=f"Nhà Thử {j}", geom=box(40, j * CELL + 40, 20, 20)) for j in range(GRID)])
    # a street of two segments along y = 200 (400 m long), and a side street
    ids["roads"] = _insert(conn, "roads", [
        dict(segment_code="QT-R1", name="Đường Nguyễn Thử Nghiệm", road_class="local",
             geom=line((0, 200), (200, 200))),
        dict(segment_code="QT-R2", name="Đường Nguyễn Thử Nghiệm", road_class="local",
             geom=line((200, 200), (400, 200))),
        dict(segment_code="QT-R3", name="Kiệt Thử", road_class="alley",
             geom=line((300, 0), (300, 100)))])
    ids["cameras"] = _insert(conn, "cameras", [
        dict(camera_code="QT-C1", name="Camera Thử 1", camera_type="traffic", geom=pt(100, 203)),
        dict(camera_code="QT-C2", name="Camera Thử 2", camera_type="traffic", geom=pt(350, 260))])
    ids["project"], = _insert(conn, "projects", [dict(
        project_code="QT-P1", name="Dự án Khu Đô Thị Thử Nghiệm", phase="planning",
        geom=box(200, 200, 200, 200))])
    return ids


@pytest.fixture(scope="module")
def qc(engine, request):
    """(connection, ids) with the test city inserted in an open transaction, rolled back
    after the module. The sample city is loaded first, so that its loading never waits
    on this transaction's locks."""
    try:
        request.getfixturevalue("sample_city")
    except ImportError:
        pass
    conn = engine.connect()
    tx = conn.begin()
    ids = insert_query_city(conn)
    yield conn, ids
    tx.rollback()
    conn.close()
