"""The rejects file: every rejected row, with its original attributes, its geometry (in
EPSG:4326, when it had one) and the reasons, as GeoJSON built in SQL and streamed, so
nothing disappears silently and staff can fix the rows and import them again."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from ..model import STORAGE_SRID

PAIRS_PER_CALL = 40                  # jsonb_build_object takes at most 100 arguments


def _properties(stage: sa.Table, checked: sa.Table, field_names: list[str]):
    props = sa.func.jsonb_build_object("_row", stage.c._row, "_reasons", checked.c._reasons)
    args: list = []
    for i, name in enumerate(field_names):
        args += [sa.literal(name, sa.Text), stage.c[f"f{i}"]]
        if len(args) >= 2 * PAIRS_PER_CALL:
            props = props.op("||")(sa.func.jsonb_build_object(*args))
            args = []
    if args:
        props = props.op("||")(sa.func.jsonb_build_object(*args))
    return props


def write_rejects(conn: sa.Connection, stage: sa.Table, checked: sa.Table, field_names: list[str],
                  path: str | Path) -> int:
    """Write the rejected rows of this import to `path` (GeoJSON); returns how many."""
    geometry = sa.cast(sa.func.ST_AsGeoJSON(sa.func.ST_GeomFromWKB(stage.c._wkb, STORAGE_SRID), 9), pg.JSONB)
    feature = sa.func.jsonb_build_object("type", "Feature", "geometry", geometry,
                                         "properties", _properties(stage, checked, field_names))
    query = (sa.select(sa.cast(feature, sa.Text))
             .select_from(stage.join(checked, checked.c._row == stage.c._row))
             .where(sa.func.cardinality(checked.c._reasons) > 0).order_by(stage.c._row))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with target.open("w", encoding="utf-8") as out:
        out.write('{"type": "FeatureCollection", "features": [\n')
        result = conn.execute(query.execution_options(stream_results=True, yield_per=2000))
        for (text,) in result:
            out.write(("," if count else "") + text + "\n")
            count += 1
        out.write("]}\n")
    return count
