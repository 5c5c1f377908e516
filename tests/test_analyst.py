"""The Python API for analysts (layers.analyst): a layer as a GeoDataFrame in EPSG:4326
that converts to EPSG:5899, with the feature API's box, CQL2 filter and `as_of` giving
the same features as `/items`; chunks streamed through a server-side cursor; bad
arguments are the system's errors; docs/analyst_example.py runs as written."""
from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
import sqlalchemy as sa

from gisdb.errors import InvalidFilter, InvalidParameter, NotFound
from layers import analyst

PROJECT = Path(__file__).resolve().parents[1]
BOX = (108.20, 16.04, 108.22, 16.06)


@pytest.fixture(scope="module")
def connected(settings, sample_city):
    engine = analyst.connect(settings=settings)
    yield engine
    engine.dispose()


def _matched(client, query: str) -> int:
    resp = client.get("/collections/buildings/items?limit=1&" + query)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()["numberMatched"]


def test_a_whole_layer_with_its_crs(connected, engine):
    parcels = analyst.layer("parcels")
    with engine.connect() as conn:
        count, area = conn.execute(sa.text(
            "SELECT count(*), sum(ST_Area(ST_Transform(geom, 5899))) FROM land.parcels")).one()
    assert len(parcels) == count and parcels.crs.to_epsg() == 4326
    assert {"id", "parcel_no", "land_use", "geometry"} <= set(parcels.columns)
    assert parcels.to_crs(5899).area.sum() == pytest.approx(area, rel=1e-6)


def test_box_filter_and_as_of_match_the_items_api(connected, client):
    box = ",".join(map(str, BOX))
    frame = analyst.layer("buildings", bbox=BOX, filter="floors > 5")
    assert len(frame) > 0 and (frame["floors"] > 5).all()
    assert len(frame) == _matched(client, f"bbox={box}&filter=floors%20%3E%205")
    assert len(analyst.layer("buildings", bbox=box)) == _matched(client, f"bbox={box}")
    in_5899 = analyst.layer("buildings", bbox=frame.to_crs(5899).total_bounds, bbox_crs=5899)
    assert set(frame["id"]) <= set(in_5899["id"])
    assert len(analyst.layer("buildings", as_of="2001-01-01")) == 0 == \
        _matched(client, "as_of=2001-01-01")


def _streamed_peak(chunksize: int | None) -> tuple[int, int]:
    """(rows, peak bytes allocated by Python) of reading buildings whole or in chunks."""
    tracemalloc.start()
    try:
        if chunksize is None:
            rows = len(analyst.layer("buildings"))
        else:
            rows = sum(len(chunk) for chunk in analyst.layer("buildings", chunksize=chunksize))
        return rows, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_chunks_stream_through_a_server_side_cursor(connected, engine):
    chunks = analyst.layer("buildings", chunksize=1000)
    first = next(chunks)
    assert len(first) == 1000 and first.crs.to_epsg() == 4326
    with engine.connect() as conn:      # the analyst's session is fetching from a cursor
        last = conn.execute(sa.text("SELECT query FROM pg_stat_activity "
                                    "WHERE application_name = 'gisdb-analyst' "
                                    "AND query ILIKE 'FETCH%'")).scalars().all()
    assert last, "no FETCH from a server-side cursor"
    rest = list(chunks)
    assert all(len(c) <= 1000 for c in rest)
    whole_rows, whole_peak = _streamed_peak(None)
    rows, peak = _streamed_peak(500)
    assert rows == whole_rows == len(first) + sum(len(c) for c in rest)
    assert peak < whole_peak / 3, (peak, whole_peak)


@pytest.mark.parametrize("kwargs,error", [
    ({"name": "nope"}, NotFound),
    ({"name": "buildings", "filter": "floors >"}, InvalidFilter),
    ({"name": "buildings", "filter": "owner_secret = 1"}, InvalidFilter),
    ({"name": "buildings", "bbox": (1, 2, 3)}, InvalidParameter),
    ({"name": "buildings", "as_of": "someday"}, InvalidParameter),
    ({"name": "buildings", "chunksize": 0}, InvalidParameter),
])
def test_bad_arguments_are_clear_errors(connected, kwargs, error):
    with pytest.raises(error):
        result = analyst.layer(**kwargs)
        next(iter(result)) if kwargs.get("chunksize") is not None else None


def test_the_example_script_runs(settings, sample_city):
    env = dict(os.environ, GISDB_DATABASE_URL=settings.database_url,
               GISDB_WEB_DATABASE_URL=settings.web_database_url)
    done = subprocess.run([sys.executable, str(PROJECT / "docs" / "analyst_example.py")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "buildings above 5 floors" in done.stdout
