"""`gisdb tiles seed --out FILE.pmtiles` works from any static host: the archive, served
by a plain static server that only knows files and HTTP Range (tests/range_server.py),
is read with the `pmtiles` library over range requests, as MapLibre's pmtiles protocol
reads it, and every tile equals the one the server answers."""
from __future__ import annotations

import gzip
import json
import urllib.request

import mapbox_vector_tile
import pytest
from click.testing import CliRunner
from pmtiles.reader import Reader, all_tiles

from range_server import byte_range, range_server
from tiles.grid import count_tiles_in_bbox

BBOX = (108.214, 16.058, 108.222, 16.066)       # Hải Châu's dense core in the sample city
ZOOMS = (13, 16)


def features(gzipped: bytes) -> dict:
    """{layer: sorted features} of a gzipped MVT (the same tile from two statements may
    order its features and keys differently)."""
    decoded = mapbox_vector_tile.decode(gzip.decompress(gzipped))
    return {name: sorted(json.dumps(f, sort_keys=True) for f in layer["features"])
            for name, layer in decoded.items()}


def http_range_source(url: str, sizes: list):
    """A pmtiles `get_bytes` that fetches each part with an HTTP Range request."""
    def get_bytes(offset: int, length: int) -> bytes:
        request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-{offset + length - 1}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 206
            assert response.headers["Content-Range"].startswith(f"bytes {offset}-")
            data = response.read()
        sizes.append(len(data))
        return data
    return get_bytes


@pytest.fixture(scope="module")
def archive(settings, sample_city, tmp_path_factory):
    from scripts.cli import main
    out = tmp_path_factory.mktemp("static") / "danang.pmtiles"
    env = {"GISDB_DATABASE_URL": settings.database_url,
           "GISDB_DATA_DIR": str(out.parent / "data")}
    result = CliRunner().invoke(main, ["tiles", "seed", "buildings,roads", "--zoom", "13-16",
                                       "--bbox", ",".join(map(str, BBOX)), "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    return out


def test_pmtiles_read_over_http_ranges_equal_the_servers_tiles(archive, client):
    size = archive.stat().st_size
    with range_server(archive.parent) as (base, ranges):
        sizes: list = []
        reader = Reader(http_range_source(f"{base}/{archive.name}", sizes))
        header = reader.header()
        assert (header["min_zoom"], header["max_zoom"]) == ZOOMS
        assert [layer["id"] for layer in reader.metadata()["vector_layers"]] == ["buildings", "roads"]
        stored = {tuple(zxy): data for zxy, data in all_tiles(reader.get_bytes)}
        by_get = {zxy: reader.get(*zxy) for zxy in stored}
    assert len(stored) > 4 and len(stored) <= sum(count_tiles_in_bbox(BBOX, z) for z in range(13, 17))
    assert all(r is not None for r in ranges)          # never the whole file: range reads only
    assert max(sizes) < size
    for (z, x, y), data in stored.items():
        assert by_get[(z, x, y)] == data
        served = client.get(f"/tiles/buildings,roads/{z}/{x}/{y}.mvt", headers={"Accept-Encoding": "gzip"})
        assert served.status_code == 200, (z, x, y, served.status_code)
        assert features(data) == features(served.data), (z, x, y)
    assert {z for z, _, _ in stored} == set(range(13, 17))


def test_the_static_server_answers_ranges_like_a_static_host(archive):
    size = archive.stat().st_size
    assert byte_range(None, size) is None
    assert byte_range("bytes=0-126", size) == (0, 126)
    assert byte_range("bytes=-10", size) == (size - 10, size - 1)
    with range_server(archive.parent) as (base, _):
        request = urllib.request.Request(f"{base}/{archive.name}", headers={"Range": f"bytes={size}-"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 416
        with pytest.raises(urllib.error.HTTPError) as outside:
            urllib.request.urlopen(f"{base}/../etc/passwd", timeout=30)
        assert outside.value.code == 404
