"""Thematic colouring and attribute filters of the PNG tiles (`?theme=`, `?filter=`):
real PostGIS and Mapnik through the app, pixels decoded with GDAL's PNG driver."""
from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa

from layers.registry import get_layer
from layers.themes import get_theme, layer_themes
from test_png_tiles import decode_png, hex_rgb
from tiles.grid import lonlat_to_tile


@pytest.fixture(scope="module")
def dense_tile(engine, app) -> str:
    """The z17 tile (x/y) holding the most buildings of the sample city."""
    t = get_layer("buildings").table
    pos = sa.func.ST_PointOnSurface(t.c.geom)
    with engine.connect() as conn:
        points = conn.execute(sa.select(sa.func.ST_X(pos), sa.func.ST_Y(pos))).all()
    counts: dict = {}
    for lon, lat in points:
        key = lonlat_to_tile(lon, lat, 17)
        counts[key] = counts.get(key, 0) + 1
    x, y = max(counts, key=counts.get)
    return f"17/{x}/{y}"


def _rgba(client, url: str) -> np.ndarray:
    resp = client.get(url)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "image/png"
    return decode_png(resp.data)


def _colours(img: np.ndarray) -> set[tuple[int, int, int]]:
    opaque = img[img[..., 3] > 200][:, :3]
    return {tuple(int(v) for v in c) for c in np.unique(opaque, axis=0)}


def _near(colours: set, hex_colour: str, tol: int = 40) -> bool:
    want = hex_rgb(hex_colour)
    return any(np.abs(np.array(c) - want).max() <= tol for c in colours)


def test_theme_changes_the_colours(client, dense_tile):
    plain = _rgba(client, f"/tiles/buildings/{dense_tile}.png")
    floors = _rgba(client, f"/tiles/buildings/{dense_tile}.png?theme=floors")
    assert not np.array_equal(plain, floors)
    ramp = [c[1] for c in get_theme(get_layer("buildings"), "floors").classes]
    # fill at opacity 0.8 over transparency: the drawn colour is the ramp's, blended
    assert any(_near(_colours(floors), colour, 60) for colour in ramp)
    assert not any(_near(_colours(plain), colour, 8) for colour in ramp[-2:])


def test_filter_draws_only_matching_features(client, dense_tile, engine):
    everything = _rgba(client, f"/tiles/buildings/{dense_tile}.png")
    tall = _rgba(client, f"/tiles/buildings/{dense_tile}.png?filter=floors%20%3E%3D%204")
    none = _rgba(client, f"/tiles/buildings/{dense_tile}.png?filter=floors%20%3E%20500")
    drawn = lambda img: int((img[..., 3] > 0).sum())  # noqa: E731
    assert drawn(none) == 0
    assert 0 < drawn(tall) < drawn(everything)


def test_filter_and_theme_together_and_cached(client, dense_tile):
    url = f"/tiles/buildings/{dense_tile}.png?theme=floors&filter=use%3D%27residential%27"
    first = client.get(url)
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert first.status_code == 200 and again.status_code == 304
    other = client.get(f"/tiles/buildings/{dense_tile}.png?theme=floors")
    assert other.headers["ETag"] != first.headers["ETag"]


@pytest.mark.parametrize("query, words", [
    ("theme=nope", "unknown theme"),
    ("filter=nope%20%3D%201", "unknown property"),
    ("filter=floors%20%3E%3D", ""),
    ("filter=floors%3D1%3B%20DROP%20TABLE%20construction.buildings", ""),
    ("filter=id%20%3D%201", ""),
    ("theme=use&bogus=1", "bogus"),
])
def test_bad_theme_or_filter_is_a_json_400(client, dense_tile, query, words, engine):
    resp = client.get(f"/tiles/buildings/{dense_tile}.png?{query}")
    assert resp.status_code == 400
    body = resp.get_json()
    assert set(body) >= {"code", "description"}
    assert words in body["description"]
    assert "SELECT" not in body["description"] and "Traceback" not in body["description"]
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from construction.buildings")).scalar() > 0


def test_theme_and_filter_need_one_layer(client, dense_tile):
    resp = client.get(f"/tiles/buildings,parcels/{dense_tile}.png?theme=floors")
    assert resp.status_code == 400
    assert "one layer" in resp.get_json()["description"]


def test_every_theme_draws(client, dense_tile):
    """Each theme of each layer renders (its SQL and Mapnik style are valid)."""
    for layer_id in ("buildings", "parcels", "zoning", "roads", "projects"):
        for theme in layer_themes(get_layer(layer_id)):
            resp = client.get(f"/tiles/{layer_id}/{dense_tile}.png?theme={theme.id}")
            assert resp.status_code == 200, (layer_id, theme.id, resp.get_data(as_text=True))
