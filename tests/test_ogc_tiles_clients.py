"""OGC API - Tiles as its clients walk it: the conformance classes, the collection's
`tilesets-vector` / `tilesets-map` links, tilesets with typed `item` and `tiling-scheme`
links and limits covering the data, a tile matrix set GDAL 3.6 and 3.12 both parse; and
GDAL's OGCAPI driver (pyogrio's GDAL 3.12, in a subprocess so no other test's GDAL state
matters) reading the vector tiles and the PNG map tiles from a live server.

The booleans QGIS users filter on: the tiles carry MVT booleans, TileJSON says
`Boolean`, the queryables say `boolean`, and `oneway = true` selects one-way roads."""
from __future__ import annotations

import json
import math
import subprocess
import sys
import threading

import mapbox_vector_tile
import pytest
from werkzeug.serving import make_server

from clients import require
from tiles.grid import lonlat_to_tile
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


@pytest.mark.parametrize("kind,path,media", [("vector", "tiles", "application/vnd.mapbox-vector-tile"),
                                             ("map", "map/tiles", "image/png")])
def test_collection_links_its_tilesets_down_to_the_tiles(client, kind, path, media):
    collection = client.get("/collections/buildings").json
    listing_url = rel(collection, OGC_REL + "tilesets-" + kind)["href"]
    assert listing_url.endswith(f"/collections/buildings/{path}")
    listing = client.get(listing_url).json
    assert [t["dataType"] for t in listing["tilesets"]] == [kind]
    tileset = client.get(rel(listing["tilesets"][0], "self")["href"]).json
    item = rel(tileset, "item")
    assert item["type"] == media and item["templated"] is True
    assert item["href"].endswith("/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}")
    assert client.get(rel(tileset, OGC_REL + "tiling-scheme")["href"]).status_code == 200
    z, x, y = CENTRE_TILE
    tile = client.get(item["href"].format(tileMatrix=z, tileRow=y, tileCol=x))
    assert tile.status_code == 200 and tile.mimetype == media and tile.data


def test_tileset_limits_cover_the_data_and_no_more(client):
    collection = client.get("/collections/buildings").json
    west, south, east, north = collection["extent"]["spatial"]["bbox"][0]
    tileset = client.get("/collections/buildings/map/tiles/WebMercatorQuad").json
    limits = {lim["tileMatrix"]: lim for lim in tileset["tileMatrixSetLimits"]}
    assert sorted(limits, key=int)[0] == "14"            # buildings start at zoom 14
    z16 = limits["16"]
    assert (z16["minTileCol"], z16["minTileRow"]) <= lonlat_to_tile(west, north, 16)
    assert (z16["maxTileCol"], z16["maxTileRow"]) >= lonlat_to_tile(east, south, 16)
    assert z16["maxTileCol"] - z16["minTileCol"] < 64    # the city, not the world


def test_tile_matrix_set_speaks_tms_2_and_1(client):
    tms = client.get("/tileMatrixSets/WebMercatorQuad").json
    assert tms["crs"].endswith("EPSG/0/3857") and len(tms["tileMatrices"]) == 25
    assert tms["type"] == "TileMatrixSetType" and tms["supportedCRS"] == tms["crs"]
    assert [m["identifier"] for m in tms["tileMatrix"]] == [m["id"] for m in tms["tileMatrices"]]


def mercator(lon: float, lat: float) -> tuple[float, float]:
    radius = 6378137.0
    return (math.radians(lon) * radius,
            radius * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))


GDAL_VECTOR = """
import json, sys
from pyogrio.raw import read
url, box = sys.argv[1], json.loads(sys.argv[2])
meta, _, geoms, fields = read(url, layer="Zoom level 16", API="TILES", MINX=box[0], MINY=box[1],
                              MAXX=box[2], MAXY=box[3])
print(json.dumps({"fields": list(meta["fields"]), "count": len(geoms)}))
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


def test_gdal_reads_the_vector_tiles(live, client):
    west, south, east, north = client.get("/collections/buildings").json["extent"]["spatial"]["bbox"][0]
    box = [*mercator(west, south), *mercator(east, north)]
    got = gdal_312(GDAL_VECTOR, f"OGCAPI:{live}/collections/buildings", json.dumps(box))
    assert got["count"] >= 100
    assert {"building_code", "floors", "use"} <= set(got["fields"])


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
