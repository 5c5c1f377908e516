"""Tiles of the second tile matrix set, WorldCRS84Quad (EPSG:4326 / CRS84, 2x1 tiles at
zoom 0): MVT features where the database has them (within a tile pixel), PNG tiles drawn
where the buildings are, the grid's documents, ETag/304 and edits as in WebMercatorQuad,
the cache keyed by tile matrix set, and bad z/y/x as JSON 4xx."""
from __future__ import annotations

import mapbox_vector_tile
import numpy as np
import pytest
import sqlalchemy as sa

from layers.registry import get_layer
from test_png_tiles import decode_png
from test_tiles_mvt import LAT, LON, rows, tc, tile_app  # noqa: F401  (fixtures)
from tiles.grid import WEB_MERCATOR_QUAD, WORLD_CRS84_QUAD, Tile

CRS84 = WORLD_CRS84_QUAD
MVT_EXTENT = 4096


def crs84_tile(z: int, lon: float = LON, lat: float = LAT) -> Tile:
    """The WorldCRS84Quad tile of zoom z holding (lon, lat)."""
    col, row = CRS84.tile_at(lon, lat, z)
    return Tile(z, col, row, CRS84)


def mvt_url(tile: Tile, layer: str = "buildings") -> str:
    return f"/collections/{layer}/tiles/{tile.tms.id}/{tile.z}/{tile.y}/{tile.x}"


def lonlat_of(tile: Tile, px: float, py: float) -> tuple[float, float]:
    """An MVT coordinate (y down) of `tile` as lon/lat."""
    minx, _, _, maxy = tile.bounds()
    return minx + px / MVT_EXTENT * tile.size, maxy - py / MVT_EXTENT * tile.size


def _rings(geometry: dict):
    coords = geometry["coordinates"]
    polygons = coords if geometry["type"] == "MultiPolygon" else [coords]
    return [ring for polygon in polygons for ring in polygon]


def db_boxes(engine, tile: Tile, *, inside: bool, margin: float = 0.0) -> dict[int, tuple]:
    """id -> (xmin, ymin, xmax, ymax) of the buildings within the tile (`inside`) or
    meeting it grown by `margin` (a share of its side), from the layer table's EPSG:4326
    geometry."""
    layer = get_layer("buildings")
    table = layer.table
    grow = margin * tile.size
    minx, miny, maxx, maxy = tile.bounds()
    envelope = sa.func.ST_MakeEnvelope(minx - grow, miny - grow, maxx + grow, maxy + grow, 4326)
    test = sa.func.ST_Within if inside else sa.func.ST_Intersects
    geom = table.c.geom
    stmt = sa.select(table.c[layer.id_column], sa.func.ST_XMin(geom), sa.func.ST_YMin(geom),
                     sa.func.ST_XMax(geom), sa.func.ST_YMax(geom)).where(test(geom, envelope))
    with engine.connect() as conn:
        return {row[0]: tuple(row[1:]) for row in conn.execute(stmt)}


def test_crs84_mvt_has_the_databases_features_at_their_lonlat(tc, engine):
    tile = crs84_tile(15)                              # the scale of WebMercatorQuad 16: detail
    resp = tc.get(mvt_url(tile))
    assert resp.status_code == 200 and resp.mimetype == "application/vnd.mapbox-vector-tile"
    features = mapbox_vector_tile.decode(resp.data, default_options={"y_coord_down": True})[
        "buildings"]["features"]
    within = db_boxes(engine, tile, inside=True)
    buffered = db_boxes(engine, tile, inside=False, margin=64 / MVT_EXTENT)   # the MVT buffer
    assert len(within) >= 100                          # the synthetic block of test_tiles_mvt
    assert set(within) <= {f["id"] for f in features} <= set(buffered)
    pixel = tile.size / 256
    for feature in features:
        if feature["id"] not in within:
            continue
        points = np.array([lonlat_of(tile, x, y) for ring in _rings(feature["geometry"]) for x, y in ring])
        xmin, ymin, xmax, ymax = within[feature["id"]]
        got = (points[:, 0].min(), points[:, 1].min(), points[:, 0].max(), points[:, 1].max())
        assert np.allclose(got, (xmin, ymin, xmax, ymax), atol=pixel, rtol=0), (feature["id"], got)


def test_crs84_tile_at_a_scale_below_the_layers_range_is_empty(tc):
    assert tc.get(mvt_url(crs84_tile(12))).status_code == 204     # WebMercatorQuad 13 < 14


def test_crs84_png_draws_the_buildings_where_they_are(tc, engine):
    tile = crs84_tile(16)
    resp = tc.get(f"/collections/buildings/map/tiles/{CRS84.id}/{tile.z}/{tile.y}/{tile.x}.png")
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    image = decode_png(resp.data)
    assert image.shape == (256, 256, 4)
    table = get_layer("buildings").table
    centre = sa.func.ST_PointOnSurface(table.c.geom)
    with engine.connect() as conn:
        points = conn.execute(sa.select(sa.func.ST_X(centre), sa.func.ST_Y(centre)).where(
            sa.func.ST_Within(table.c.geom, sa.func.ST_MakeEnvelope(*tile.bounds(), 4326)))).all()
    assert len(points) >= 50
    minx, _, _, maxy = tile.bounds()
    alpha = [image[int((maxy - lat) / tile.pixel), int((lon - minx) / tile.pixel), 3] for lon, lat in points]
    assert sum(1 for a in alpha if a > 0) >= 0.95 * len(points)
    assert (image[..., 3] == 0).mean() > 0.2           # and the streets between them are empty
    big = decode_png(tc.get(f"/collections/buildings/map/tiles/{CRS84.id}/{tile.z}/{tile.y}/{tile.x}@2x").data)
    assert big.shape == (512, 512, 4)


def test_crs84_tile_matrix_set_document(tc):
    tms = tc.get("/tileMatrixSets/WorldCRS84Quad").json
    assert tms["crs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    assert tms["orderedAxes"] == ["Lon", "Lat"] and len(tms["tileMatrices"]) == 24
    z0, z16 = tms["tileMatrices"][0], tms["tileMatrices"][16]
    assert (z0["matrixWidth"], z0["matrixHeight"], z0["cellSize"]) == (2, 1, 0.703125)
    assert z0["pointOfOrigin"] == [-180.0, 90.0]
    assert z0["scaleDenominator"] == pytest.approx(279541132.0143589)
    assert (z16["matrixWidth"], z16["matrixHeight"]) == (2 << 16, 1 << 16)
    assert tms["type"] == "TileMatrixSetType" and tms["supportedCRS"] == tms["crs"]
    assert tms["tileMatrix"][0]["topLeftCorner"] == [-180.0, 90.0]
    listed = {t["id"]: t for t in tc.get("/tileMatrixSets").json["tileMatrixSets"]}
    assert list(listed) == ["WebMercatorQuad", "WorldCRS84Quad"]
    mercator = tc.get("/tileMatrixSets/WebMercatorQuad").json["tileMatrices"][0]
    assert mercator["scaleDenominator"] == pytest.approx(2 * z0["scaleDenominator"])


@pytest.mark.parametrize("path", ["tiles", "map/tiles"])
def test_crs84_etag_304_cache_and_edits_as_in_web_mercator(tc, engine, path):
    tile = crs84_tile(16)
    url = f"/collections/buildings/{path}/{CRS84.id}/{tile.z}/{tile.y}/{tile.x}"
    first = tc.get(url)
    assert first.status_code == 200 and first.headers["ETag"]
    col, row = WEB_MERCATOR_QUAD.tile_at(LON, LAT, 17)
    mercator = tc.get(f"/collections/buildings/{path}/WebMercatorQuad/17/{row}/{col}")
    assert first.headers["Cache-Control"] == mercator.headers["Cache-Control"]
    again = tc.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == first.headers["ETag"]
    assert tc.get(url).headers["X-Tile-Cache"] == "hit"
    table = get_layer("buildings").table
    with engine.begin() as conn:                       # an edit (a no-op one) bumps the version
        conn.execute(sa.update(table).where(table.c.building_code == "T5B-1").values(floors=table.c.floors))
    edited = tc.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert edited.status_code == 200 and edited.headers["ETag"] != first.headers["ETag"]


def test_the_tile_cache_and_etags_are_keyed_by_tile_matrix_set(tc):
    """0/0/0 names a tile in both grids; both are empty (buildings start at zoom 14), so
    only the grid tells their tags apart."""
    tags = set()
    for tms in (WEB_MERCATOR_QUAD, CRS84):
        resp = tc.get(mvt_url(Tile(0, 0, 0, tms)))
        assert resp.status_code == 204
        tags.add(resp.headers["ETag"])
    assert len(tags) == 2


@pytest.mark.parametrize("url, status", [
    ("/collections/buildings/tiles/WorldCRS84Quad/0/1/0", 400),          # one row at zoom 0
    ("/collections/buildings/tiles/WorldCRS84Quad/0/0/2", 400),          # two columns
    ("/collections/buildings/tiles/WorldCRS84Quad/15/32768/0", 400),
    ("/collections/buildings/tiles/WorldCRS84Quad/15/0/65536", 400),
    ("/collections/buildings/tiles/WorldCRS84Quad/24/0/0", 400),         # its last zoom is 23
    ("/collections/buildings/tiles/WorldCRS84Quad/abc/0/0", 400),
    ("/collections/buildings/tiles/WorldCRS84Quad/-1/0/0", 400),
    ("/collections/buildings/tiles/WorldCRS84Quad/1/0/1e3", 400),
    ("/collections/buildings/tiles/WorldCRS84Quad/99999999999999999999/0/0", 400),
    ("/collections/buildings/tiles/WorldCRS84Quad/15/0/0?f=png", 400),
    ("/collections/buildings/tiles/WorldCRS84Quad/15/0/0?z=1", 400),
    ("/collections/nope/tiles/WorldCRS84Quad/0/0/0", 404),
    ("/collections/buildings/tiles/WorldCRS84quad/0/0/0", 404),
    ("/collections/buildings/tiles/WorldCRS84Quad/tilejson", 404),        # TileJSON: WebMercatorQuad
    ("/collections/buildings/map/tiles/WorldCRS84Quad/0/0/1.png", 404),   # below its zoom range
    ("/collections/buildings/map/tiles/WorldCRS84Quad/15/32768/0.png", 400),
    ("/collections/buildings/map/tiles/WorldCRS84Quad/15/0/0@3x.png", 400),
    ("/collections/buildings/map/tiles/WorldCRS84Quad/15/0/0.png?f=mvt", 400),
    ("/rasters/dem/tiles/WorldCRS84Quad/0/0/0.png", 404),                 # rasters: WebMercatorQuad
    ("/tileMatrixSets/WorldCRS84Quad%00", 400),
    ("/tileMatrixSets/WorldCRS84", 404),
])
def test_bad_crs84_tile_requests_are_json_errors(tc, url, status):
    resp = tc.get(url)
    assert resp.status_code == status, resp.data[:200]
    body = resp.get_json()
    assert set(body) == {"code", "description"} and "SELECT" not in body["description"]
    assert resp.headers["Cache-Control"] == "no-store"


def test_the_openapi_document_offers_both_tile_matrix_sets_where_they_exist(tc):
    paths = tc.get("/api").json["paths"]

    def tms_enum(path: str) -> list[str]:
        [param] = [p for p in paths[path]["get"]["parameters"] if p["name"] == "tileMatrixSetId"]
        return param["schema"]["enum"]

    both = ["WebMercatorQuad", "WorldCRS84Quad"]
    for path in ("/collections/{collectionId}/tiles/{tileMatrixSetId}",
                 "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
                 "/collections/{collectionId}/map/tiles/{tileMatrixSetId}",
                 "/collections/{collectionId}/map/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
                 "/tileMatrixSets/{tileMatrixSetId}"):
        assert tms_enum(path) == both, path
    assert tms_enum("/collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson") == ["WebMercatorQuad"]
