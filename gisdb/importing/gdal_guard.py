"""GDAL for untrusted files: no network, and only the import formats' drivers.

A file's content can lead GDAL to the network: a VRT or a GDALG pipeline naming a
`/vsicurl/` URL (with `header_file=` it even sends a local file as an HTTP header), a
GeoJSON `"crs"` link that GDAL fetches. GDAL has no single switch for its network, so
`guard_gdal()` locks every door it has, once per process and before any file is opened,
in both GDALs of the process (pyogrio's for vectors, rasterio's for GeoTIFFs):

- `/vsicurl/` and its cousins (`/vsis3/`, `/vsigs/`, ...) accept one impossible file
  name only (`OFFLINE_CONFIG`), so they refuse every path without a request;
- every other HTTP request (`CPLHTTPFetch`: CRS links, cloud metadata services) is
  answered by a callback that refuses it without touching the network;
- PROJ's network (grid downloads) is off, in GDAL's PROJ and in pyproj's;
- pyogrio's GDAL keeps only the vector drivers of `VECTOR_DRIVERS` (VRT, GDALG, OAPIF,
  WFS and the rest are deregistered), so no file can be read by a driver we did not name.

The process stays that way: the import command is such a process, and so is a test run.
"""
from __future__ import annotations

import collections
import ctypes
import threading

VECTOR_DRIVERS = ("ESRI Shapefile", "GeoJSON", "GPKG", "FlatGeobuf", "CSV")
KEPT_DRIVERS = VECTOR_DRIVERS + ("MEM",)        # GDAL's own scratch driver, never opened by name
OFFLINE_CONFIG = {
    "CPL_VSIL_CURL_ALLOWED_FILENAME": "/vsicurl/http://gdal-network-disabled.invalid/",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".gdal-network-disabled",
    "GDAL_HTTP_MAX_RETRY": "0",
    "CPL_AWS_AUTODETECT_EC2": "NO",
    "GDAL_ALLOW_REMOTE_RESOURCE_TO_ACCESS_LOCAL_FILE": "NO",
    "CPL_ALLOW_VSISTDIN": "NO",
    "GDAL_MEM_ENABLE_OPEN": "NO",
    "ALLOW_VIRTUAL_OGR_FROM_TRIGGER_AND_VIEW": "NO",
    "ALLOW_OGR_SQL_FUNCTIONS_FROM_TRIGGER_AND_VIEW": "NO",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
    "PROJ_NETWORK": "OFF",
}
REFUSED: collections.deque = collections.deque(maxlen=100)   # URLs GDAL asked for, refused

_FETCH = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_char_p, *([ctypes.c_void_p] * 6))
_callbacks: list = []            # ctypes callbacks must outlive every GDAL call
_lock = threading.Lock()
_guarded = False


def guard_gdal() -> None:
    """Turn GDAL's network off and keep only the allowed vector drivers. The callbacks and
    drivers are set once per process; the offline options are set again on every call
    (each import and raster load calls it first), since a `rasterio.Env` leaving may
    clear GDAL options it did not set."""
    global _guarded
    with _lock:
        import pyogrio
        import rasterio.env

        pyogrio.set_gdal_config_options(OFFLINE_CONFIG)
        for key, value in OFFLINE_CONFIG.items():
            rasterio.env.set_gdal_config(key, value)
        if rasterio.env.local._env is not None:
            # an open rasterio environment restores, when a nested Env exits, only the
            # options it knows: make the guard's among them
            rasterio.env.local._env.update_config_options(**OFFLINE_CONFIG)
        if _guarded:
            return
        import pyogrio._ogr
        import pyproj.network
        from rasterio import _env

        pyproj.network.set_network_enabled(False)
        vector_gdal = _library_of(pyogrio._ogr.__file__)
        for library in (vector_gdal, _library_of(_env.__file__)):
            _refuse_http(library)
        _keep_only(vector_gdal, KEPT_DRIVERS)
        _guarded = True


def _library_of(extension_path: str) -> ctypes.CDLL:
    """The GDAL an extension module is linked to: symbols looked up through the module's
    own handle come from its dependencies, so two bundled GDALs are never confused."""
    return ctypes.CDLL(extension_path)


def _refuse_http(gdal: ctypes.CDLL) -> None:
    """Install a global `CPLHTTPFetch` callback answering every request with a failure."""
    gdal.CPLCalloc.restype = ctypes.c_void_p
    gdal.CPLCalloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]

    def refuse(url, *_):
        REFUSED.append((url or b"").decode("utf-8", "replace"))
        result = gdal.CPLCalloc(1, 512)        # a zeroed CPLHTTPResult, freed by GDAL
        ctypes.c_int.from_address(result).value = 1        # nStatus: the request failed
        return result

    callback = _FETCH(refuse)
    _callbacks.append(callback)
    gdal.CPLHTTPSetFetchCallback.argtypes = [_FETCH, ctypes.c_void_p]
    gdal.CPLHTTPSetFetchCallback(callback, None)


def _keep_only(gdal: ctypes.CDLL, kept: tuple[str, ...]) -> None:
    """Deregister every vector-capable driver whose short name is not in `kept`."""
    gdal.GDALGetDriver.restype = ctypes.c_void_p
    gdal.GDALGetDriver.argtypes = [ctypes.c_int]
    gdal.GDALGetDriverShortName.restype = ctypes.c_char_p
    gdal.GDALGetDriverShortName.argtypes = [ctypes.c_void_p]
    gdal.GDALGetMetadataItem.restype = ctypes.c_char_p
    gdal.GDALGetMetadataItem.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    gdal.GDALDeregisterDriver.argtypes = [ctypes.c_void_p]
    drivers = [gdal.GDALGetDriver(i) for i in range(gdal.GDALGetDriverCount())]
    for driver in drivers:
        name = gdal.GDALGetDriverShortName(driver).decode()
        if name not in kept and gdal.GDALGetMetadataItem(driver, b"DCAP_VECTOR", None):
            gdal.GDALDeregisterDriver(driver)
