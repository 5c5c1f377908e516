"""A first load (`gisdb.bulk.worth_deferring`): the layer's secondary indexes and natural-key
constraint are dropped, built again after the insert exactly as they were, and the layer
is ANALYZEd before the commit; a failed first load leaves all of them in place."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from gisdb.bulk import BULK_MIN_ROWS
from gisdb.errors import ImportFailed
from gisdb.importing import ImportOptions, run_import
from import_support import clear, count, imp_engine, imp_settings, table_schema, write_parcels  # noqa: F401
from layers.importing import import_target

ROWS = BULK_MIN_ROWS + 500


def _schema(engine):
    return table_schema(engine, "land", "parcels")


def _parcel_no_stats(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT n_distinct FROM pg_stats WHERE schemaname = 'land' "
                                    "AND tablename = 'parcels' AND attname = 'parcel_no'")).scalar()


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    return write_parcels(tmp_path_factory.mktemp("bulk") / "parcels.gpkg", ROWS, driver="GPKG", size=0.00005)


def test_a_first_load_rebuilds_the_indexes_as_they_were_and_analyzes(imp_engine, imp_settings, big_file):
    clear(imp_engine, "parcels")
    before = _schema(imp_engine)
    assert any("gist" in d for _, d in before[0]) and before[1]
    assert _parcel_no_stats(imp_engine) is None          # a fresh layer: never analyzed
    report = run_import(imp_engine, imp_settings, import_target("parcels"), big_file, ImportOptions())
    assert report.changes["inserted"] == ROWS and report.changes["bulk_index_rebuild"]
    assert _schema(imp_engine) == before
    assert _parcel_no_stats(imp_engine) == -1            # every parcel number distinct, seen by ANALYZE
    assert count(imp_engine, "parcels") == ROWS


def test_a_failed_first_load_keeps_the_indexes(imp_engine, imp_settings, big_file):
    clear(imp_engine, "parcels")
    before = _schema(imp_engine)
    with imp_engine.begin() as conn:     # a row the import cannot know about makes the insert fail
        conn.execute(sa.text("ALTER TABLE land.parcels ADD CONSTRAINT test_no_big_numbers CHECK (parcel_no < 20000)"))
    try:
        with pytest.raises(ImportFailed, match="refused"):
            run_import(imp_engine, imp_settings, import_target("parcels"), big_file, ImportOptions())
    finally:
        with imp_engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE land.parcels DROP CONSTRAINT test_no_big_numbers"))
    assert _schema(imp_engine) == before and count(imp_engine, "parcels") == 0
