"""Benchmark of PNG tiles of the vector layers (run by hand, never in tests).

Compares, in the same run, over the same random tiles and the same Mapnik cartography,
interleaved tile by tile so both see the same machine load:
- ours: `tiles.png.render_layers_png` (Mapnik's `postgis` datasource with the subqueries
  of `tiles.mapnik_postgis`: features under a pixel dropped, clipped, simplified; a
  statement timeout on every connection; Map objects reused per thread);
- baseline: the textbook Mapnik setup, the same plugin reading every feature in the
  buffered tile as stored (`SELECT geom, attributes ... WHERE geom && !bbox!`).
Prints the median ms per tile and tiles/s per zoom, and our speed-up over the baseline.
(An earlier design aggregated GeoJSON in PostGIS for Mapnik's `geojson` datasource: it
measured 0.36x, 0.41x and 0.69x the plugin at z14, z16, z18, so it was dropped.)

    .venv/bin/python bench/png_tiles.py --scale 1 --tiles 60
"""
from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

from gisdb.database import create_database, drop_database
from gisdb.engine import database_url, make_engine
from gisdb.settings import Settings
from layers.registry import get_layer
from layers.schema import migrate
from tiles.grid import Tile, lonlat_to_tile
from tiles.mapnik_postgis import PgSource
from tiles.mapnik_style import (
    BUFFER_PX,
    LABEL_SUFFIX,
    geometry_rank,
    label_min_zoom,
    load_mapnik,
    map_xml,
    register_fonts,
)
from tiles.png import PNG_FORMAT, render_layers_png, visible_layers

LAYERS = ("admin_units", "zoning", "parcels", "buildings", "roads")
DB_NAME = "gisdb_bench_png"


def data_extent(engine) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the loaded buildings: tiles are drawn from there."""
    geom = get_layer("buildings").table.c.geom
    with engine.connect() as conn:
        row = conn.execute(sa.select(sa.func.min(sa.func.ST_XMin(geom)), sa.func.min(sa.func.ST_YMin(geom)),
                                     sa.func.max(sa.func.ST_XMax(geom)), sa.func.max(sa.func.ST_YMax(geom)))).one()
    return tuple(float(v) for v in row)


def random_tiles(extent, z: int, n: int, seed: int = 7) -> list[Tile]:
    rnd = random.Random(seed + z)
    out = []
    for _ in range(n):
        lon = rnd.uniform(extent[0], extent[2])
        lat = rnd.uniform(extent[1], extent[3])
        out.append(Tile(z, *lonlat_to_tile(lon, lat, z)))
    return out


def _subquery(layer, labels: bool) -> str:
    """The postgis datasource's `table`: registry columns compiled by SQLAlchemy."""
    t = layer.table
    cat = sa.cast(t.c[layer.style.category_field], sa.Text) if layer.style.category_field else sa.null()
    lab = sa.cast(t.c[layer.label_field], sa.Text) if layer.label_field else sa.null()
    geom = sa.func.ST_PointOnSurface(t.c.geom_3857) if (labels and geometry_rank(layer) == 0) \
        else t.c.geom_3857
    raw = sa.type_coerce(geom, sa.LargeBinary)          # no ST_AsEWKB wrapper: Mapnik wants geometry
    stmt = sa.select(raw.label("geom_3857"), cat.label("c"), lab.label("l"))
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    return "(" + sql + " WHERE " + layer.table_name + ".geom_3857 && !bbox!) AS t"


def plugin_map(settings: Settings, layer_ids: tuple[str, ...], z: int):
    """A Mapnik Map of our cartography whose layers read through the postgis plugin."""
    mapnik = load_mapnik()
    register_fonts()
    url = make_url(database_url(settings))
    params = {"host": url.query.get("host") or url.host or "", "port": int(url.query.get("port") or url.port or 5432),
              "user": url.username or "", "dbname": url.database, "geometry_field": "geom_3857",
              "srid": 3857, "estimate_extent": "false",
              "extent": "-20037508,-20037508,20037508,20037508", "persist_connection": "true"}
    layers = visible_layers(layer_ids, z)
    m = mapnik.Map(256, 256)
    mapnik.load_map_from_string(m, map_xml(tuple(lyr.id for lyr in layers)))
    m.buffer_size = BUFFER_PX
    for lyr in m.layers:
        is_label = lyr.name.endswith(LABEL_SUFFIX)
        layer = get_layer(lyr.name.removesuffix(LABEL_SUFFIX))
        if is_label and z < label_min_zoom(layer):
            lyr.active = False
            continue
        lyr.datasource = mapnik.Datasource(type="postgis", table=_subquery(layer, is_label), **params)
    return m


def time_ours(source: PgSource, tile: Tile) -> float:
    start = time.perf_counter()
    render_layers_png(source, LAYERS, tile)
    return time.perf_counter() - start


def time_plugin(m, tile: Tile) -> float:
    mapnik = load_mapnik()
    start = time.perf_counter()
    m.zoom_to_box(mapnik.Box2d(*tile.bounds()))
    image = mapnik.Image(256, 256)
    mapnik.render(m, image, 1.0)
    image.to_string(PNG_FORMAT)
    return time.perf_counter() - start


def bench_zoom(engine, settings, tiles: list[Tile]) -> tuple[float, float]:
    """Median seconds per tile (ours, plugin), the two interleaved tile by tile so both
    see the same machine load."""
    m = plugin_map(settings, LAYERS, tiles[0].z)
    source = PgSource.from_engine(engine, settings.statement_timeout_ms)
    for tile in tiles[:3]:                                   # warm up both paths
        time_ours(source, tile)
        time_plugin(m, tile)
    ours, plugin = [], []
    for tile in tiles:
        ours.append(time_ours(source, tile))
        plugin.append(time_plugin(m, tile))
    return statistics.median(ours), statistics.median(plugin)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1, help="sample city scale to load")
    parser.add_argument("--tiles", type=int, default=60, help="random tiles per zoom")
    parser.add_argument("--zoom", type=int, action="append", help="zooms (default 14 16 18)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    base = Settings.from_env()
    url = create_database(base, DB_NAME)
    settings = replace(base, database_url=url)
    engine = make_engine(settings)
    try:
        migrate(engine)
        from layers.sample import load_sample_city
        counts = load_sample_city(engine, scale=args.scale, seed=1)
        print("loaded:", {k: counts[k] for k in LAYERS if k in counts})
        extent = data_extent(engine)
        print(f"{'zoom':>4} {'ours ms':>9} {'plain ms':>10} {'ours t/s':>9} {'plain t/s':>11} {'ratio':>6}")
        for z in args.zoom or (14, 16, 18):
            tiles = random_tiles(extent, z, args.tiles)
            ours, plugin = bench_zoom(engine, settings, tiles)
            print(f"{z:>4} {ours * 1000:>9.1f} {plugin * 1000:>10.1f} {1 / ours:>9.1f} "
                  f"{1 / plugin:>11.1f} {plugin / ours:>6.2f}")
    finally:
        engine.dispose()
        if not args.keep:
            drop_database(base, DB_NAME)


if __name__ == "__main__":
    main()
