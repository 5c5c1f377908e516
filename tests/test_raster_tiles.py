"""Raster-layer tiles (rio-tiler) from the raster catalog: the real Copernicus DEM of Da
Nang (skipped when absent) and a small synthetic DEM with a nodata hole."""
from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from rio_tiler.colormap import cmap

from gisdb.rasters import add_raster, raster_path, remove_raster
from test_png_tiles import decode_png
from tiles.grid import Tile, lonlat_to_tile
from tiles.raster import parse_options, read_tile, render_raster_tile

SYNTH_WEST, SYNTH_NORTH, SYNTH_STEP = 107.0, 15.2, 0.001     # 200 x 200 pixels
SYNTH_NODATA = -9999


@pytest.fixture(scope="module")
def dem(engine, settings, realdata):
    entry = add_raster(engine, settings, "dem_tiles_test", realdata / "copernicus_dem_danang.tif")
    yield entry
    remove_raster(engine, settings, "dem_tiles_test")


@pytest.fixture(scope="module")
def synth(engine, settings, tmp_path_factory):
    """A 200x200 int16 DEM (heights 0..398 rising eastwards) whose western half is nodata."""
    path = tmp_path_factory.mktemp("synth") / "synth.tif"
    heights = np.tile((np.arange(200, dtype="int16") * 2), (200, 1))
    heights[:, :100] = SYNTH_NODATA
    with rasterio.open(path, "w", driver="GTiff", width=200, height=200, count=1, dtype="int16",
                       crs="EPSG:4326", nodata=SYNTH_NODATA,
                       transform=from_origin(SYNTH_WEST, SYNTH_NORTH, SYNTH_STEP, SYNTH_STEP)) as ds:
        ds.write(heights, 1)
    entry = add_raster(engine, settings, "synth_dem", path, kind="elevation")
    yield entry
    remove_raster(engine, settings, "synth_dem")


def synth_tile(z: int = 12) -> Tile:
    return Tile(z, *lonlat_to_tile(SYNTH_WEST + 0.1, SYNTH_NORTH - 0.1, z))


# --- the real DEM ----------------------------------------------------------------------------

def test_dem_tile_heights_are_in_the_expected_range(dem, settings):
    tile = Tile(12, *lonlat_to_tile(108.15, 16.0, 12))
    data = read_tile(raster_path(settings, dem), tile)
    assert data.shape == (1, 256, 256)
    heights = np.ma.compressed(data)
    assert heights.size == 256 * 256
    assert -25 <= heights.min() and heights.max() <= 700
    assert heights.max() > 100              # the hills west of the city


def test_dem_png_colours_follow_the_colormap(dem, settings):
    tile = Tile(12, *lonlat_to_tile(108.15, 16.0, 12))
    path = raster_path(settings, dem)
    plain = parse_options(dem, {"colormap": "viridis", "hillshade": "false"})
    image = decode_png(render_raster_tile(path, dem, tile, plain)[0])
    assert image.shape == (256, 256, 4) and image[..., 3].min() == 255
    heights = np.ma.filled(read_tile(path, tile), 0)[0].astype(float)
    lo, hi = dem["stats"]["bands"][0]["min"], dem["stats"]["bands"][0]["max"]
    index = np.clip(np.round((heights - lo) / (hi - lo) * 255), 0, 255).astype(int)
    table = np.array([cmap.get("viridis")[i][:3] for i in range(256)])
    assert np.abs(image[..., :3].astype(int) - table[index]).max() <= 1
    shaded = decode_png(render_raster_tile(path, dem, tile, parse_options(dem, {}))[0])
    assert shaded[..., :3].astype(int).std() > 5
    assert np.abs(shaded[..., :3].astype(int) - image[..., :3].astype(int)).mean() > 5


def test_dem_tile_at_the_raster_edge_is_partly_transparent(dem, settings):
    tile = Tile(10, *lonlat_to_tile(108.1, 16.1, 10))
    image = decode_png(render_raster_tile(raster_path(settings, dem), dem, tile,
                                          parse_options(dem, {}))[0])
    alpha = image[..., 3]
    assert (alpha == 0).any() and (alpha == 255).any()


# --- synthetic raster: nodata, outside, options ----------------------------------------------

def test_nodata_is_transparent_and_data_opaque(synth, settings):
    tile = synth_tile()
    image = decode_png(render_raster_tile(raster_path(settings, synth), synth, tile,
                                          parse_options(synth, {}))[0])
    west, _s, east, _n = tile.lonlat_bounds()
    col_of = lambda lon: int((lon - west) / (east - west) * 256)   # noqa: E731
    row = 128
    assert image[row, col_of(SYNTH_WEST + 0.07), 3] == 0           # nodata half
    assert image[row, col_of(SYNTH_WEST + 0.12), 3] == 255         # data half


def test_tile_outside_the_raster_is_transparent(synth, settings):
    far = Tile(12, *lonlat_to_tile(100.0, 10.0, 12))
    for scale in (1, 2):
        image = decode_png(render_raster_tile(raster_path(settings, synth), synth, far,
                                              parse_options(synth, {}, scale))[0])
        assert image.shape == (256 * scale, 256 * scale, 4)
        assert image[..., 3].max() == 0


def test_options_are_validated(synth):
    from gisdb.errors import InvalidParameter
    assert parse_options(synth, {}).colormap == "terrain"
    assert parse_options(synth, {}).hillshade is True
    assert parse_options(synth, {"colormap": "Viridis", "hillshade": "no"}).hillshade is False
    for args in ({"colormap": "rainbow-unicorn"}, {"hillshade": "maybe"}):
        with pytest.raises(InvalidParameter):
            parse_options(synth, args)


# --- HTTP ------------------------------------------------------------------------------------

def test_raster_catalog_lists_tile_templates(client, synth):
    body = client.get("/rasters").get_json()
    entry = next(e for e in body["rasters"] if e["name"] == "synth_dem")
    assert entry["kind"] == "elevation"
    assert entry["tiles"][0].endswith("/rasters/synth_dem/{z}/{x}/{y}.png")
    assert "terrain" in body["colormaps"]
    assert client.get("/rasters/synth_dem").get_json()["name"] == "synth_dem"


def test_raster_tile_endpoints(client, synth):
    tile = synth_tile()
    xyz = client.get(f"/rasters/synth_dem/{tile.z}/{tile.x}/{tile.y}.png")
    assert xyz.status_code == 200 and xyz.mimetype == "image/png"
    image = decode_png(xyz.data)
    assert image.shape == (256, 256, 4) and (image[..., 3] == 255).any()
    ogc = client.get(f"/rasters/synth_dem/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}.png")
    assert ogc.data == xyz.data
    big = client.get(f"/rasters/synth_dem/{tile.z}/{tile.x}/{tile.y}@2x.png?colormap=viridis")
    assert decode_png(big.data).shape == (512, 512, 4)
    etag = xyz.headers["ETag"]
    again = client.get(f"/rasters/synth_dem/{tile.z}/{tile.x}/{tile.y}.png",
                       headers={"If-None-Match": etag})
    assert again.status_code == 304
    other = client.get(f"/rasters/synth_dem/{tile.z}/{tile.x}/{tile.y}.png?hillshade=false")
    assert other.headers["ETag"] != etag
    far = client.get("/rasters/synth_dem/3/0/0.png")
    assert far.status_code == 200 and decode_png(far.data)[..., 3].max() == 0


@pytest.mark.parametrize("url, status", [
    ("/rasters/nope/3/0/0.png", 404),
    ("/rasters/nope", 404),
    ("/rasters/synth_dem/3/9/0.png", 400),
    ("/rasters/synth_dem/x/0/0.png", 400),
    ("/rasters/synth_dem/3/0/0.png?colormap=unicorn", 400),
    ("/rasters/synth_dem/3/0/0.png?hillshade=maybe", 400),
    ("/rasters/synth_dem/3/0/0.png?band=2", 400),
    ("/rasters/synth_dem/tiles/OtherQuad/3/0/0.png", 404),
])
def test_raster_bad_requests(client, synth, url, status):
    resp = client.get(url)
    assert resp.status_code == status
    assert set(resp.get_json()) == {"code", "description"}
