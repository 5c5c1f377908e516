"""OGC API - Tiles as its clients walk it: the conformance classes, the collection's
`tilesets-vector` / `tilesets-map` links, tilesets in WebMercatorQuad and WorldCRS84Quad
with typed `item` and `tiling-scheme` links and limits covering the data, tile matrix
sets GDAL 3.6 and 3.12 both parse; and GDAL's OGCAPI driver (pyogrio's GDAL 3.12, in a
subprocess so no other test's GDAL state matters) reading the vector tiles with no open
options and the PNG map tiles from a live server (it picks the WorldCRS84Quad tilesets).

The booleans QGIS users filter on: the tiles carry MVT booleans, TileJSON says
`Boolean`, the queryables say `boolean`, and `oneway = true` selects one-way roads."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import threading

import mapbox_vector_tile
import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from clients import require
from tiles.grid import WORLD_CRS84_QUAD, lonlat_to_tile
from webmap.api.client_quirks import LEGACY_GDAL_ACCEPT, legacy_gdal

OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0/"
TILES_CONF = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
CENTRE_TILE = (16, 52467, 29806)          # holds the sample city's centre (108.212, 16.055)


def rel(doc: dict, name: str) -> dict:
    [found] = [link for link in doc["links"] if link["rel"] == name]
    return found


@pytest.fixture(scope="module")
def live(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_conformance_declares_the_tiles_classes(client):
    conforms = client.get("/conformance").json["conformsTo"]
    for name in ("core", "tileset", "tilesets-list", "geodata-tilesets", "mvt", "png"):
        assert TILES_CONF + name in conforms
    schemes = rel(client.get("/?f=json").json, OGC_REL + "tiling-schemes")["href"]
    assert client.get(schemes).json["tileMatrixSets"][0]["id"] == "WebMercatorQuad"


def centre_tile(tms: str) -> tuple[int, int, int]:
    """(z, column, row) of the tile holding the city's centre at the scale of z16."""
    if tms == "WebMercatorQuad":
        return CENTRE_TILE
    return (15, *WORLD_CRS84_QUAD.tile_at(108.212, 16.055, 15))


@pytest.mark.parametrize("kind,path,media", [("vector", "tiles", "application/vnd.mapbox-vector-tile"),
                                             ("map", "map/tiles", "image/png")])
@pytest.mark.parametrize("position,tms", [(0, "WebMercatorQuad"), (1, "WorldCRS84Quad")])
def test_collection_links_its_tilesets_down_to_the_tiles(client, kind, path, media, position, tms):
    collection = client.get("/collections/buildings").json
    listing_url = rel(collection, OGC_REL + "tilesets-" + kind)["href"]
    assert listing_url.endswith(f"/collections/buildings/{path}")
    listing = client.get(listing_url).json
    assert [t["dataType"] for t in listing["tilesets"]] == [kind, kind]
    assert listing["tilesets"][position]["tileMatrixSetURI"].endswith("/" + tms)
    tileset = client.get(rel(listing["tilesets"][position], "self")["href"]).json
    item = rel(tileset, "item")
    assert item["type"] == media and item["templated"] is True
    assert re.search(rf"/{tms}/v\d+/\{{tileMatrix\}}/\{{tileRow\}}/\{{tileCol\}}$", item["href"])
    scheme = client.get(rel(tileset, OGC_REL + "tiling-scheme")["href"])
    assert scheme.status_code == 200 and scheme.json["uri"] == tileset["tileMatrixSetURI"]
    z, x, y = centre_tile(tms)
    tile = client.get(item["href"].format(tileMatrix=z, tileRow=y, tileCol=x))
    assert tile.status_code == 200 and tile.mimetype == media and tile.data


def test_tileset_limits_cover_the_data_and_no_more(client):
    collection = client.get("/collections/buildings").json
    west, south, east, north = collection["extent"]["spatial"]["bbox"][0]
    tileset = client.get("/collections/buildings/map/tiles/WebMercatorQuad").json
    limits = {lim["tileMatrix"]: lim for lim in tileset["tileMatrixSetLimits"]}
    assert sorted(limits, key=int)[0] == "14"            # buildings start at zoom 14
    z16 = limits["16"]
    (left, top), (right, bottom) = lonlat_to_tile(west, north, 16), lonlat_to_tile(east, south, 16)
    assert z16["minTileCol"] <= left and z16["minTileRow"] <= top
    assert z16["maxTileCol"] >= right and z16["maxTileRow"] >= bottom
    assert z16["maxTileCol"] - z16["minTileCol"] < 64    # the city, not the world
    crs84 = client.get("/collections/buildings/map/tiles/WorldCRS84Quad").json
    assert crs84["crs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    limits = {lim["tileMatrix"]: lim for lim in crs84["tileMatrixSetLimits"]}
    assert sorted(limits, key=int)[0] == "13"            # the scale of WebMercatorQuad 14
    z15 = limits["15"]
    size = 180 / 2 ** 15                                 # degrees: the bbox divides directly
    # The limits come from the index's estimate (float4 boxes rounded outward; rows deleted
    # by earlier tests count until VACUUM), the collection's bbox may be exact: the limits
    # hold the bbox, and stay the city's (a few dozen tiles), not the world's.
    assert z15["minTileCol"] <= int((west + 180) / size) and z15["minTileRow"] <= int((90 - north) / size)
    assert z15["maxTileCol"] >= int((east + 180) / size) and z15["maxTileRow"] >= int((90 - south) / size)
    assert z15["maxTileCol"] - z15["minTileCol"] < 64


@pytest.mark.parametrize("name,crs,matrices", [("WebMercatorQuad", "EPSG/0/3857", 25),
                                               ("WorldCRS84Quad", "OGC/1.3/CRS84", 24)])
def test_tile_matrix_set_speaks_tms_2_and_1(client, name, crs, matrices):
    tms = client.get("/tileMatrixSets/" + name).json
    assert tms["crs"].endswith(crs) and len(tms["tileMatrices"]) == matrices
    assert tms["type"] == "TileMatrixSetType" and tms["supportedCRS"] == tms["crs"]
    assert tms["identifier"] == tms["id"] == name
    assert [m["identifier"] for m in tms["tileMatrix"]] == [m["id"] for m in tms["tileMatrices"]]
    assert [m["topLeftCorner"] for m in tms["tileMatrix"]] == [m["pointOfOrigin"] for m in tms["tileMatrices"]]


GDAL_VECTOR = """
import json, sys
import pyogrio
from pyogrio.raw import read
url = sys.argv[1]
layers = [name for name, _ in pyogrio.list_layers(url)]
meta, _, geoms, fields = read(url, layer=sys.argv[2])
bounds = pyogrio.read_bounds(url, layer=sys.argv[2])[1]
print(json.dumps({"layers": layers, "fields": list(meta["fields"]), "count": len(geoms),
                  "crs": meta["crs"], "bounds": [float(bounds[i].min()) for i in (0, 1)]
                  + [float(bounds[i].max()) for i in (2, 3)]}))
"""

GDAL_RASTER = """
import ctypes, glob, json, os, sys
import pyogrio
lib = ctypes.CDLL(glob.glob(os.path.dirname(pyogrio.__file__) + "/../pyogrio.libs/libgdal-*.so*")[0])
lib.GDALAllRegister()
lib.GDALOpenEx.restype = ctypes.c_void_p
lib.GDALOpenEx.argtypes = [ctypes.c_char_p, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
                           ctypes.c_void_p]
lib.GDALGetRasterCount.argtypes = [ctypes.c_void_p]
lib.GDALGetRasterXSize.argtypes = [ctypes.c_void_p]
lib.GDALGetRasterBand.restype = ctypes.c_void_p
lib.GDALGetRasterBand.argtypes = [ctypes.c_void_p, ctypes.c_int]
lib.GDALRasterIO.argtypes = [ctypes.c_void_p, ctypes.c_int] + [ctypes.c_int] * 4 + [
    ctypes.c_void_p] + [ctypes.c_int] * 5
ds = lib.GDALOpenEx(sys.argv[1].encode(), 0x02, None, None, None)
if not ds:
    print(json.dumps({"opened": False})); sys.exit()
alpha, size = lib.GDALGetRasterBand(ds, 4), lib.GDALGetRasterXSize(ds)
buf = (ctypes.c_ubyte * (256 * 256))()
lib.GDALRasterIO(alpha, 0, 0, 0, size, size, buf, 256, 256, 1, 0, 0)
print(json.dumps({"opened": True, "bands": lib.GDALGetRasterCount(ds),
                  "opaque": sum(1 for v in buf if v)}))
"""


def gdal_312(script: str, *args: str) -> dict:
    """Runs a pyogrio (GDAL 3.12) script in a fresh interpreter; its JSON answer."""
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True,
                          timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_gdal_reads_the_vector_tiles_with_no_open_options(live, client, engine):
    """Issue 15: `OGCAPI:` on a collection, nothing else. GDAL picks the WorldCRS84Quad
    tileset, makes a layer per zoom (the layer's range: 13..21, the scales of
    WebMercatorQuad 14..22) and reads the buildings of one (zoom 15 has the scale of
    WebMercatorQuad 16, where tiles carry every building as stored)."""
    collection = client.get("/collections/buildings").json
    west, south, east, north = collection["extent"]["spatial"]["bbox"][0]
    got = gdal_312(GDAL_VECTOR, f"OGCAPI:{live}/collections/buildings", "Zoom level 15")
    assert got["layers"] == [f"Zoom level {z}" for z in range(13, 22)]
    assert 'AUTHORITY["OGC","CRS84"]' in got["crs"]               # longitude, latitude
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM construction.buildings")).scalar_one()
    assert stored * 0.9 <= got["count"] <= stored * 1.5     # every building, split at tile edges
    assert {"building_code", "floors", "height_m", "use", "status"} <= set(got["fields"])
    gw, gs, ge, gn = got["bounds"]                          # in degrees, where the data is
    assert abs(gw - west) < 1e-3 and abs(gs - south) < 1e-3 and abs(ge - east) < 1e-3 and abs(gn - north) < 1e-3


def test_gdal_reads_the_png_map_tiles(live):
    got = gdal_312(GDAL_RASTER, f"OGCAPI:{live}/collections/buildings")
    assert got["opened"] and got["bands"] == 4
    assert got["opaque"] > 100               # buildings drawn, not an empty raster


def test_only_gdal_before_3_7_gets_the_collection_without_tileset_links(client):
    assert legacy_gdal(None, LEGACY_GDAL_ACCEPT) and legacy_gdal("", LEGACY_GDAL_ACCEPT + " ")
    assert not legacy_gdal("GDAL/3.12.4", LEGACY_GDAL_ACCEPT)
    assert not legacy_gdal(None, "application/json") and not legacy_gdal(None, None)
    old = client.get("/collections/buildings", headers={"Accept": LEGACY_GDAL_ACCEPT,
                                                        "User-Agent": ""}).json
    new = client.get("/collections/buildings", headers={"Accept": LEGACY_GDAL_ACCEPT,
                                                        "User-Agent": "GDAL/3.12.4"}).json
    rels = {link["rel"] for link in old["links"]}
    assert "items" in rels and not any("tilesets" in r for r in rels)
    assert OGC_REL + "tilesets-vector" in {link["rel"] for link in new["links"]}


@pytest.mark.parametrize("prefix", ["OGCAPI", "OAPIF"])
def test_debian_gdal_reads_a_collection_as_features(live, prefix):
    """Issue 15's regression: GDAL 3.6's OGCAPI driver (API=AUTO) followed the new tileset
    links, could not read them and failed; it reads the features again, as OAPIF does."""
    require("ogrinfo")
    done = subprocess.run(["ogrinfo", "-ro", "-so", "-al", f"{prefix}:{live}/collections/buildings"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    [count] = [int(line.split(":")[1]) for line in done.stdout.splitlines()
               if line.startswith("Feature Count:")]
    assert count >= 1000 and "floors:" in done.stdout


def test_booleans_stay_booleans_for_tile_clients(client):
    z, x, y = CENTRE_TILE
    tile = mapbox_vector_tile.decode(client.get(f"/tiles/roads/{z}/{x}/{y}.mvt").data)
    values = {f["properties"]["oneway"] for f in tile["roads"]["features"]}
    assert values <= {True, False} and all(isinstance(v, bool) for v in values)
    assert client.get("/tiles/roads.json").json["vector_layers"][0]["fields"]["oneway"] == "Boolean"
    assert client.get("/collections/roads/queryables").json["properties"]["oneway"]["type"] == "boolean"
    oneway = client.get(f"/tiles/roads/{z - 2}/{x // 4}/{y // 4}.mvt",
                        query_string={"filter": "oneway = true"})
    assert oneway.status_code == 200
    features = mapbox_vector_tile.decode(oneway.data)["roads"]["features"]
    assert features and all(f["properties"]["oneway"] is True for f in features)
