"""PNG tiles of the vector layers (Mapnik): real PostGIS, images decoded with GDAL's PNG
driver (rasterio), colours checked against the layer registry."""
from __future__ import annotations

import math
import threading
import warnings
from dataclasses import replace

import numpy as np
import pytest
import sqlalchemy as sa
from rasterio.enums import ColorInterp
from rasterio.io import MemoryFile

from layers.land import LAND_USE_CODES
from layers.registry import get_layer
from tiles.grid import ORIGIN, Tile, lonlat_to_tile
from tiles.mapnik_postgis import PgSource
from tiles.png import render_layers_png

# Test features live away from the sample city (which stays inside 108.15-108.25 E).
LON, LAT = 107.6005, 15.6005
PARCEL_A = (107.6000, 15.6000, 107.6010, 15.6010)     # land use DKV
PARCEL_B = (107.6012, 15.6000, 107.6022, 15.6010)     # land use ODT
ROAD = ((107.5990, 15.6020), (107.6030, 15.6026))
ROAD_NAME = "Đường Bạch Đằng"
INCIDENT = (107.6040, 15.6040)
COLOUR = {code: colour for code, colour, _vi, _en in LAND_USE_CODES}


def decode_png(data: bytes) -> np.ndarray:
    """PNG bytes -> (rows, cols, 4) RGBA uint8, palette PNGs expanded."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with MemoryFile(data) as mem, mem.open() as ds:
            bands = ds.read()
            if ds.count == 1 and ds.colorinterp[0] == ColorInterp.palette:
                table = ds.colormap(1)
                lut = np.array([table.get(i, (0, 0, 0, 0)) for i in range(256)], dtype="uint8")
                return lut[bands[0]]
    if bands.shape[0] == 4:
        return bands.transpose(1, 2, 0)
    if bands.shape[0] == 3:
        alpha = np.full(bands.shape[1:], 255, dtype="uint8")[np.newaxis]
        return np.concatenate([bands, alpha]).transpose(1, 2, 0)
    if bands.shape[0] == 2:                                   # grey + alpha
        return np.stack([bands[0], bands[0], bands[0], bands[1]], axis=-1)
    raise AssertionError(f"unexpected PNG with {bands.shape[0]} bands")


def hex_rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])


def pixel_of(lon: float, lat: float, tile: Tile, scale: int = 1) -> tuple[int, int]:
    """(row, col) of a lon/lat inside `tile` rendered at `scale`."""
    mx = lon / 180.0 * ORIGIN
    my = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / math.pi * ORIGIN
    minx, _miny, _maxx, maxy = tile.bounds()
    size = 256 * scale
    return int((maxy - my) / tile.size * size), int((mx - minx) / tile.size * size)


def tile_at(lon: float, lat: float, z: int) -> Tile:
    return Tile(z, *lonlat_to_tile(lon, lat, z))


def envelope(box) -> str:
    return "SRID=4326;MULTIPOLYGON(((%f %f,%f %f,%f %f,%f %f,%f %f)))" % (
        box[0], box[1], box[2], box[1], box[2], box[3], box[0], box[3], box[0], box[1])


@pytest.fixture(scope="module")
def marked(engine):
    """Known features (two parcels, a road with a Vietnamese name, an incident), removed
    after the module so other tests see the database as it was."""
    parcels, roads, incidents = (get_layer(i).table for i in ("parcels", "roads", "incidents"))
    with engine.begin() as conn:
        conn.execute(sa.insert(parcels), [
            {"ward_code": "T0001", "sheet_no": 1, "parcel_no": 1, "area_m2": 11000,
             "land_use": "DKV", "geom": envelope(PARCEL_A)},
            {"ward_code": "T0001", "sheet_no": 1, "parcel_no": 2, "area_m2": 11000,
             "land_use": "ODT", "geom": envelope(PARCEL_B)}])
        conn.execute(sa.insert(roads).values(
            segment_code="T-ROAD-1", name=ROAD_NAME, road_class="arterial",
            geom="SRID=4326;MULTILINESTRING((%f %f,%f %f))" % (*ROAD[0], *ROAD[1])))
        conn.execute(sa.insert(incidents).values(
            incident_code="T-INC-1", occurred_at=sa.func.now(), incident_type="collision",
            severity=2, geom="SRID=4326;POINT(%f %f)" % INCIDENT))
    yield
    with engine.begin() as conn:
        conn.execute(sa.delete(parcels).where(parcels.c.ward_code == "T0001"))
        conn.execute(sa.delete(roads).where(roads.c.segment_code == "T-ROAD-1"))
        conn.execute(sa.delete(incidents).where(incidents.c.incident_code == "T-INC-1"))


def render(engine, layers, tile, scale=1) -> np.ndarray:
    data, media_type = render_layers_png(PgSource.from_engine(engine, 15000), tuple(layers),
                                         tile, scale)
    assert media_type == "image/png"
    return decode_png(data)


def assert_colour(rgba_pixel, colour: str, alpha: float, tol: int = 10):
    assert abs(int(rgba_pixel[3]) - round(alpha * 255)) <= tol, rgba_pixel
    assert np.abs(rgba_pixel[:3].astype(int) - hex_rgb(colour)).max() <= tol, (rgba_pixel, colour)


# --- rendering functions ---------------------------------------------------------------------

def test_parcel_fill_is_the_registry_category_colour(engine, marked):
    tile = tile_at(LON, LAT, 17)
    image = render(engine, ["parcels"], tile)
    assert image.shape == (256, 256, 4)
    opacity = get_layer("parcels").style.fill_opacity
    centre_a = pixel_of((PARCEL_A[0] + PARCEL_A[2]) / 2, (PARCEL_A[1] + PARCEL_A[3]) / 2, tile)
    centre_b = pixel_of((PARCEL_B[0] + PARCEL_B[2]) / 2, (PARCEL_B[1] + PARCEL_B[3]) / 2, tile)
    assert_colour(image[centre_a], COLOUR["DKV"], opacity)
    assert_colour(image[centre_b], COLOUR["ODT"], opacity)
    # north of the parcels there is nothing: fully transparent
    row, col = pixel_of(LON, PARCEL_A[3] + 0.0004, tile)
    assert image[row, col, 3] == 0


def test_2x_tile_is_512_pixels_with_the_same_colours(engine, marked):
    tile = tile_at(LON, LAT, 17)
    image = render(engine, ["parcels"], tile, scale=2)
    assert image.shape == (512, 512, 4)
    centre = pixel_of((PARCEL_A[0] + PARCEL_A[2]) / 2, (PARCEL_A[1] + PARCEL_A[3]) / 2, tile, 2)
    assert_colour(image[centre], COLOUR["DKV"], get_layer("parcels").style.fill_opacity)


def test_road_label_in_vietnamese_is_drawn(engine, marked):
    mid = ((ROAD[0][0] + ROAD[1][0]) / 2, (ROAD[0][1] + ROAD[1][1]) / 2)
    tile = tile_at(*mid, 17)
    with_label = render(engine, ["roads"], tile)
    dark = np.all(np.abs(with_label[..., :3].astype(int) - 0x22) < 40, axis=-1) & (with_label[..., 3] > 200)
    assert dark.sum() > 30, "no label text pixels"
    below = render(engine, ["roads"], tile_at(*mid, 13))
    dark_below = np.all(np.abs(below[..., :3].astype(int) - 0x22) < 40, axis=-1) & (below[..., 3] > 200)
    assert dark_below.sum() < dark.sum() / 4, "labels are drawn only from their zoom on"
    road = hex_rgb(get_layer("roads").style.categories[1][1])          # arterial
    near_road = np.abs(with_label[..., :3].astype(int) - road).max(axis=-1) < 12
    assert near_road.sum() > 50


LOCAL_ROAD = ((107.8500, 15.7500), (107.8540, 15.7506))     # alone in its tiles down to z11


@pytest.mark.parametrize("scale", [1, 2])
def test_minor_roads_are_drawn_from_their_class_zoom(engine, marked, scale):
    """At city zoom only the main roads (a million features' local roads would be a grey
    carpet); a local road from z14 (`ROAD_CLASS_MIN_ZOOM`), at 1x and 2x alike."""
    roads = get_layer("roads").table
    with engine.begin() as conn:
        conn.execute(sa.insert(roads).values(
            segment_code="T-ROAD-LOCAL", name="Kiệt thử", road_class="local",
            geom="SRID=4326;MULTILINESTRING((%f %f,%f %f))" % (*LOCAL_ROAD[0], *LOCAL_ROAD[1])))
    try:
        drawn = {z: int((render(engine, ["roads"], tile_at(*LOCAL_ROAD[0], z), scale)[..., 3] > 0).sum())
                 for z in (12, 13, 14, 15)}
        arterial = render(engine, ["roads"], tile_at(*ROAD[0], 11), scale)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.delete(roads).where(roads.c.segment_code == "T-ROAD-LOCAL"))
    assert drawn[12] == drawn[13] == 0, drawn
    assert drawn[14] > 10 * scale and drawn[15] > drawn[14], drawn
    assert (arterial[..., 3] > 0).sum() > 5 * scale            # an arterial road at z11


def test_point_marker_uses_the_layer_fill(engine, marked):
    tile = tile_at(*INCIDENT, 16)
    image = render(engine, ["incidents"], tile)
    style = get_layer("incidents").style
    assert_colour(image[pixel_of(*INCIDENT, tile)], style.fill, style.fill_opacity, tol=14)


def test_empty_and_out_of_zoom_tiles_are_transparent(engine, marked):
    sea = tile_at(109.9, 15.0, 14)
    assert render(engine, ["parcels", "roads"], sea)[..., 3].max() == 0
    # parcels start at zoom 13: at 12 the parcels are not drawn, even where they are
    assert render(engine, ["parcels"], tile_at(LON, LAT, 12))[..., 3].max() == 0


def test_concurrent_renders_share_a_small_pool(engine, marked):
    """More threads than pooled connections: renders queue, none fails."""
    from concurrent.futures import ThreadPoolExecutor
    source = PgSource.from_engine(engine, 15000, pool_size=2)
    tiles = [tile_at(LON + dx * 0.002, LAT, 17) for dx in range(8)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda t: render_layers_png(source, ("parcels", "roads"), t)[0], tiles))
    assert all(decode_png(data).shape == (256, 256, 4) for data in results)


def test_unreachable_database_is_database_unavailable(tmp_path):
    from gisdb.errors import DatabaseUnavailable
    nowhere = sa.create_engine(f"postgresql+psycopg://gisdb@/gisdb?host={tmp_path}&port=5432")
    source = PgSource.from_engine(nowhere, 1000)
    with pytest.raises(DatabaseUnavailable) as info:
        render_layers_png(source, ("roads",), tile_at(*ROAD[0], 14))
    assert "host=" not in str(info.value)                 # no connection string leaks


def test_mapnik_leaves_gdal_and_proj_to_rasterio(engine, marked):
    import os

    from rasterio.crs import CRS
    render(engine, ["roads"], tile_at(*ROAD[0], 17))
    for key in ("PROJ_LIB", "GDAL_DATA"):
        assert "mapnik" not in os.environ.get(key, "")
    assert CRS.from_epsg(3857).to_epsg() == 3857


# --- HTTP ------------------------------------------------------------------------------------

def _png(resp) -> np.ndarray:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "image/png"
    return decode_png(resp.data)


def test_city_tile_has_drawn_pixels_and_the_sea_none(client, sample_city):
    x, y = lonlat_to_tile(108.212, 16.055, 17)
    layers = "parcels,buildings,roads"
    image = _png(client.get(f"/tiles/{layers}/17/{x}/{y}.png"))
    assert image.shape == (256, 256, 4)
    assert (image[..., 3] > 200).sum() > 500
    big = _png(client.get(f"/tiles/{layers}/17/{x}/{y}@2x.png"))
    assert big.shape == (512, 512, 4)
    sx, sy = lonlat_to_tile(109.9, 15.0, 17)
    assert _png(client.get(f"/tiles/{layers}/17/{sx}/{sy}.png"))[..., 3].max() == 0


def test_ogc_map_tile_and_base_tile(client, sample_city):
    x, y = lonlat_to_tile(108.212, 16.055, 14)
    image = _png(client.get(f"/collections/roads/map/tiles/WebMercatorQuad/14/{y}/{x}.png"))
    assert (image[..., 3] > 0).sum() > 100
    assert _png(client.get(f"/collections/roads/map/tiles/WebMercatorQuad/14/{y}/{x}@2x.png")).shape[0] == 512
    base = _png(client.get(f"/tiles/base/14/{x}/{y}.png"))
    assert base[..., 3].min() == 255


def test_etag_304_and_an_edit_changes_the_tile(client, engine, marked):
    tile = tile_at(LON, LAT, 17)
    url = f"/tiles/parcels/17/{tile.x}/{tile.y}.png"
    first = client.get(url)
    _png(first)
    etag = first.headers["ETag"]
    assert "no-cache" in first.headers["Cache-Control"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url).headers["X-Tile-Cache"] == "hit"
    parcels = get_layer("parcels").table
    with engine.begin() as conn:
        conn.execute(sa.update(parcels).where(parcels.c.ward_code == "T0001",
                                              parcels.c.parcel_no == 1).values(land_use="SON"))
    second = client.get(url, headers={"If-None-Match": etag})
    image = _png(second)
    assert second.headers["ETag"] != etag
    centre = pixel_of((PARCEL_A[0] + PARCEL_A[2]) / 2, (PARCEL_A[1] + PARCEL_A[3]) / 2, tile)
    assert_colour(image[centre], COLOUR["SON"], get_layer("parcels").style.fill_opacity)


@pytest.mark.parametrize("url, status", [
    ("/tiles/roads/25/0/0.png", 400),
    ("/tiles/roads/a/0/0.png", 400),
    ("/tiles/roads/2/4/0.png", 400),
    ("/tiles/roads/2/0/1.5.png", 400),
    ("/tiles/roads/2/0/0@3x.png", 400),
    ("/tiles/nope/2/0/0.png", 404),
    ("/tiles/roads,nope/2/0/0.png", 404),
    ("/tiles/base/2/0/-1.png", 400),
    ("/collections/parcels/map/tiles/WebMercatorQuad/5/0/0.png", 404),   # below its zoom range
    ("/collections/roads/map/tiles/EuropeanETRS89_LAEAQuad/5/0/0.png", 404),
    ("/collections/roads/map/tiles/WorldCRS84Quad/5/0/0.png", 404),       # below its zoom range
    ("/collections/roads/map/tiles/WebMercatorQuad/5/32/0.png", 400),
    ("/tiles/roads/2/0/0.png?colour=red", 400),
])
def test_bad_requests_are_json_errors(client, url, status):
    resp = client.get(url)
    assert resp.status_code == status
    body = resp.get_json()
    assert set(body) == {"code", "description"}


def test_database_timeout_is_a_503_and_is_not_cached(app, settings, engine, marked):
    from webmap.app import create_app
    slow_app = create_app({"TESTING": True, "SETTINGS": replace(settings, statement_timeout_ms=300)})
    client = slow_app.test_client()
    tile = tile_at(LON, LAT, 16)
    url = f"/tiles/parcels/16/{tile.x}/{tile.y}@2x.png"
    locked, release = threading.Event(), threading.Event()

    def hold_lock():
        with engine.begin() as conn:
            conn.exec_driver_sql("LOCK TABLE land.parcels IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(10)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(10)
        resp = client.get(url)
        assert resp.status_code == 503
        assert resp.get_json()["code"] == "Timeout"
    finally:
        release.set()
        holder.join()
    again = client.get(url)
    assert again.status_code == 200 and again.headers["X-Tile-Cache"] == "miss"
    assert (decode_png(again.data)[..., 3] > 0).any()
    slow_app.extensions["gisdb.tiles"].engine.dispose()
    slow_app.extensions["gisdb"].engine.dispose()
