"""Dense z14 building tiles at the database: our tile statement against the naive one
(`NAIVE`: every tile field with its numeric cast, simplified per request, the envelope
as a function of the parameters), both under `pgbench -M prepared` on the same dense
core tiles, alternating (run by hand).

    GISDB_DATABASE_NAME=tiles_bench .venv/bin/python bench/z14_sql_bench.py [--seconds 8 --repeat 3]

Tiles: the densest z14 tile of buildings (tiles.density) and its 8 neighbours; prints the
mean buildings per tile, tiles/s of each statement (median of --repeat) and their ratio.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa  # noqa: E402
from tiles_bench import pgbench, pgbench_script  # noqa: E402

from gisdb.engine import make_engine  # noqa: E402
from gisdb.settings import Settings  # noqa: E402
from layers.registry import get_layer  # noqa: E402
from tiles.density import densest_tile  # noqa: E402
from tiles.grid import Tile  # noqa: E402

NAIVE = """SELECT ST_AsMVT(q, 'buildings', 4096, 'geom', 'id') FROM (
 SELECT id, building_code, floors, height_m::float8 AS height_m, use, status,
        ST_AsMVTGeom(ST_Simplify(geom_3857, :tolerance), ST_TileEnvelope(:z, :x, :y), 4096, 64, true) AS geom
 FROM construction.buildings
 WHERE geom_3857 && ST_TileEnvelope(:z, :x, :y, margin => 64.0 / 4096)
   AND greatest(ST_XMax(geom_3857) - ST_XMin(geom_3857), ST_YMax(geom_3857) - ST_YMin(geom_3857)) >= :min_size
) q;
"""


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
    ours = pgbench_script(layer, [Tile(14, x, y) for x in range(rng[0], rng[1] + 1)
                                  for y in range(rng[2], rng[3] + 1)])
    naive = "\n".join(line for line in ours.splitlines() if line.startswith("\\set")) + "\n" + NAIVE
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
