"""The offline base map of the real Da Nang: shipped files, their build, and the tiles
drawn from them (sea where the sea is, land in the city, names, attribution)."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from clients import require
from conftest import REALDATA
from layers.basemap import ATTRIBUTION, BASEMAP_DIR, VECTOR_LAYERS, hillshade_path, vector_path
from layers.basemap.build import content_digest
from test_png_tiles import decode_png, pixel_of, tile_at
from tiles.basemap_png import render_base_png
from tiles.basemap_style import WARD_2025

SEA_EAST_OF_SON_TRA = (108.335, 16.085)
SEA_IN_THE_BAY = (108.19, 16.11)
HAI_CHAU = (108.2200, 16.0450)          # land, in the city centre
HILLS = (108.130, 16.040)                # the hills west of Hòa Khánh


def realdata_folder():
    """The OSM/DEM extracts: skipped on a user's machine, a failure in CI without them."""
    require("realdata")
    return REALDATA


def rgb_at(lonlat: tuple[float, float], z: int) -> np.ndarray:
    """The median colour of the 9x9 pixels around a place (a boundary or a letter
    crossing it does not decide)."""
    tile = tile_at(*lonlat, z)
    image = decode_png(render_base_png(tile)[0])
    assert image[..., 3].min() == 255, "the base map is opaque"
    row, col = pixel_of(*lonlat, tile)
    window = image[max(row - 4, 0):row + 5, max(col - 4, 0):col + 5, :3].reshape(-1, 3)
    return np.median(window, axis=0).astype(int)


def is_sea(rgb: np.ndarray) -> bool:
    red, green, blue = rgb
    return blue > red + 30 and blue > 170


@pytest.mark.parametrize("z", [10, 13, 18])
def test_sea_and_land_where_they_are(z):
    for sea in (SEA_EAST_OF_SON_TRA, SEA_IN_THE_BAY):
        assert is_sea(rgb_at(sea, z)), (sea, z, rgb_at(sea, z))
    land = rgb_at(HAI_CHAU, z)
    assert not is_sea(land), (z, land)


def test_hillshade_darkens_the_hills_not_the_plain():
    def dark_share(lonlat):
        image = decode_png(render_base_png(tile_at(*lonlat, 14))[0])[..., :3].astype(int)
        return (image.sum(axis=-1) < 450).mean()
    assert dark_share(HILLS) > 0.04 > 0.02 > dark_share(HAI_CHAU)
    import rasterio
    with rasterio.open(hillshade_path()) as src:
        shade = src.read(1)
        assert src.crs.to_epsg() == 3857
    assert shade.min() < 100 and np.median(shade) == 255       # shadows; flat stays 255


def test_ward_boundaries_and_names_at_city_zoom():
    image = decode_png(render_base_png(tile_at(*HAI_CHAU, 12))[0])[..., :3].astype(int)
    ward = np.array([int(WARD_2025[i:i + 2], 16) for i in (1, 3, 5)])
    assert (np.abs(image - ward).max(axis=-1) < 30).sum() > 300


def test_base_tile_http_2x_and_etag(client):
    x, y = tile_at(*HAI_CHAU, 15).x, tile_at(*HAI_CHAU, 15).y
    first = client.get(f"/tiles/base/15/{x}/{y}.png")
    assert first.status_code == 200 and first.mimetype == "image/png"
    assert decode_png(first.data).shape == (256, 256, 4)
    again = client.get(f"/tiles/base/15/{x}/{y}.png", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert decode_png(client.get(f"/tiles/base/15/{x}/{y}@2x.png").data).shape == (512, 512, 4)
    bad = client.get("/tiles/base/99/1/1.png")
    assert bad.status_code == 400 and {"code", "description"} <= set(bad.get_json())


def test_attribution_on_the_map_page(client):
    html = client.get("/map").get_data(as_text=True)
    attributions = [json.loads(text) for text in re.findall(r'"attribution": ("(?:[^"\\]|\\.)*")', html)]
    city = [a for a in attributions if "OpenStreetMap</a> contributors (ODbL)" in a]
    assert city, attributions
    assert "Copernicus DEM" in city[0] and "Airbus Defence and Space" in city[0]


def test_shipped_files_are_small_with_their_licence():
    sizes = [vector_path().stat().st_size, hillshade_path().stat().st_size]
    assert sum(sizes) < 5_000_000
    note = (BASEMAP_DIR / "ATTRIBUTION.md").read_text(encoding="utf-8")
    for words in ("OpenStreetMap contributors", "ODbL", "Copernicus", "scripts/build_basemap.py"):
        assert words in note
    assert "ODbL" in ATTRIBUTION and "Copernicus" in ATTRIBUTION


def test_build_reproduces_the_shipped_files(tmp_path):
    from layers.basemap.build import build_basemap
    counts = build_basemap(realdata_folder(), tmp_path)
    assert set(counts) == set(VECTOR_LAYERS) and counts["wards_2025"] == 14
    assert content_digest(tmp_path) == content_digest(BASEMAP_DIR)


def test_build_script_says_what_is_missing(tmp_path, capsys):
    from scripts.build_basemap import main
    assert main(["--source", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "osm_landuse_danang.geojson" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_base_tiles_need_no_database(tmp_path):
    """The base map reads only its files: it answers (and caches) with the database gone."""
    import sqlalchemy as sa

    from tiles.cache import TileCache
    from tiles.mapnik_postgis import PgSource
    from tiles.png import PngTiles
    nowhere = sa.create_engine(f"postgresql+psycopg://gisdb@/gisdb?host={tmp_path}&port=5432")
    tiles = PngTiles(nowhere, TileCache(tmp_path / "cache", 16), PgSource.from_engine(nowhere, 1000))
    tile = tile_at(*HAI_CHAU, 13)
    first = tiles.base_tile(tile)
    drawn = first.load()
    assert decode_png(drawn.data)[..., 3].min() == 255 and not drawn.hit
    again = tiles.base_tile(tile)
    assert again.etag == first.etag and again.load().hit
