"""Dense z14 building tiles at the database: our tile statement against the naive one
(every tile field, numeric casts: the statement before tiles.generalise.fields_at), both
under `pgbench -M prepared` on the same dense core tiles, alternating (run by hand).

    GISDB_DATABASE_NAME=tiles_bench .venv/bin/python bench/z14_sql_bench.py [--seconds 8 --repeat 3]

Tiles: the densest z14 tile of buildings (tiles.density) and its 8 neighbours; prints the
mean buildings per tile, tiles/s of each statement (median of --repeat) and their ratio.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa  # noqa: E402
from tiles_bench import pgbench, pgbench_script  # noqa: E402

from gisdb.engine import make_engine  # noqa: E402
from gisdb.settings import Settings  # noqa: E402
from layers.registry import get_layer  # noqa: E402
from tiles import mvt  # noqa: E402
from tiles.density import densest_tile  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connections", type=int, default=2)
    args = parser.parse_args()
    settings = Settings.from_env()
    engine = make_engine(settings)
    layer = get_layer("buildings")
    with engine.connect() as conn:
        tile, _ = densest_tile(conn, [layer], 14)
        geom = layer.table.c.geom_3857
        box = sa.func.ST_TileEnvelope(14, tile.x, tile.y)
        per_tile = conn.execute(sa.select(sa.func.count()).where(
            geom.op("&&")(sa.func.ST_Expand(box, sa.func.ST_XMax(box) - sa.func.ST_XMin(box))))
        ).scalar_one() / 9
    rng = (tile.x - 1, tile.x + 1, tile.y - 1, tile.y + 1)
    ours = pgbench_script(layer, 14, rng)
    mvt._STATEMENTS.clear()
    with mock.patch.object(mvt, "fields_at", lambda lyr, mode: lyr.tile_fields):
        naive = pgbench_script(layer, 14, rng)
    mvt._STATEMENTS.clear()
    url = engine.url
    dsn = ["-h", str(url.query.get("host") or url.host), "-p", str(url.port or url.query.get("port") or 5432),
           "-U", url.username, url.database]
    runs = {"ours": [], "naive": []}
    for _ in range(args.repeat):
        for name, script in (("ours", ours), ("naive", naive)):
            runs[name].append(pgbench(dsn, script, args.seconds, args.connections))
    o, n = statistics.median(runs["ours"]), statistics.median(runs["naive"])
    print(f"z14 tiles {rng}, ~{per_tile:,.0f} buildings per tile, {args.connections} connections")
    print(f"ours  {o:8.1f} tiles/s  {runs['ours']}")
    print(f"naive {n:8.1f} tiles/s  {runs['naive']}")
    print(f"ours/naive ceiling: {o / n:.2f} (target >= 1.2)")


if __name__ == "__main__":
    main()
