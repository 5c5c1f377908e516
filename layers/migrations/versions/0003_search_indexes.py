"""Expression indexes for search: `meta.fold(column)` (lower + unaccent) of every
search field, trigram GIN for names (contains / similarity), text_pattern_ops btree for
codes (exact / prefix), and (sheet_no, parcel_no) for parcel numbers without a ward.

The list is written out (not read from the registry) so that this revision stays what it
was; tests/test_search.py checks that every search field of the registry has its index.

Revision ID: 0003
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# (schema, table, column, kind): kind "text" -> GIN gin_trgm_ops, "code" -> btree prefix
FOLD_INDEXES = (
    ("land", "admin_units", "name", "text"),
    ("land", "admin_units", "code", "code"),
    ("land", "parcels", "address", "text"),
    ("land", "zoning", "zone_code", "code"),
    ("land", "zoning", "name", "text"),
    ("construction", "buildings", "building_code", "code"),
    ("construction", "buildings", "name", "text"),
    ("construction", "buildings", "address", "text"),
    ("construction", "permits", "permit_no", "code"),
    ("construction", "permits", "applicant", "text"),
    ("construction", "projects", "project_code", "code"),
    ("construction", "projects", "name", "text"),
    ("construction", "projects", "investor", "text"),
    ("traffic", "roads", "name", "text"),
    ("traffic", "roads", "segment_code", "code"),
    ("traffic", "intersections", "name", "text"),
    ("traffic", "intersections", "node_code", "code"),
    ("traffic", "traffic_stations", "name", "text"),
    ("traffic", "traffic_stations", "station_code", "code"),
    ("traffic", "incidents", "incident_code", "code"),
    ("traffic", "cameras", "name", "text"),
    ("traffic", "cameras", "camera_code", "code"),
)
PARCEL_NUMBER_INDEX = "parcels_sheet_parcel_idx"


def index_name(table: str, column: str, kind: str) -> str:
    return table + "_" + column + ("_fold_trgm" if kind == "text" else "_fold_prefix")


def upgrade() -> None:
    conn = op.get_bind()
    q = conn.dialect.identifier_preparer
    for schema, table, column, kind in FOLD_INDEXES:
        target = q.quote_schema(schema) + "." + q.quote_identifier(table)
        folded = "meta.fold(" + q.quote_identifier(column) + ")"
        method = "gin (" + folded + " gin_trgm_ops)" if kind == "text" \
            else "btree (" + folded + " text_pattern_ops)"
        conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS "
                             + q.quote_identifier(index_name(table, column, kind))
                             + " ON " + target + " USING " + method)
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS " + PARCEL_NUMBER_INDEX
                         + " ON land.parcels (sheet_no, parcel_no)")


def downgrade() -> None:
    conn = op.get_bind()
    q = conn.dialect.identifier_preparer
    for schema, table, column, kind in FOLD_INDEXES:
        conn.exec_driver_sql("DROP INDEX IF EXISTS " + q.quote_schema(schema) + "."
                             + q.quote_identifier(index_name(table, column, kind)))
    conn.exec_driver_sql("DROP INDEX IF EXISTS land." + PARCEL_NUMBER_INDEX)
