"""The real clients and files some tests need, and one rule for when one is missing.

Locally a missing client (Chromium, gdal-bin, MapLibre from npm, the shared real data)
skips the test with the reason; in CI (`CI=true`) it fails the test, so that a green CI
means every real-client test ran.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
REALDATA = PROJECT.parent / "shared" / "realdata"
MAPLIBRE_JS = PROJECT / "node_modules" / "maplibre-gl" / "dist" / "maplibre-gl.js"


def _found(client: str) -> tuple[bool, str]:
    """Whether one named client is present, and what to install when it is not."""
    if client == "chromium":
        return Path(CHROMIUM).exists(), f"Debian's chromium is not installed ({CHROMIUM})"
    if client in ("ogrinfo", "ogr2ogr"):
        return shutil.which(client) is not None, f"gdal-bin is not installed ({client})"
    if client in ("pdftoppm", "pdftotext", "pdfinfo"):
        return shutil.which(client) is not None, f"poppler-utils is not installed ({client})"
    if client == "curl":
        return shutil.which("curl") is not None, "curl is not installed"
    if client == "maplibre":
        return MAPLIBRE_JS.exists(), "maplibre-gl is not installed (npm install)"
    if client == "realdata":
        return REALDATA.is_dir(), f"real Da Nang data not found at {REALDATA}"
    raise ValueError(f"unknown client {client!r}")


def in_ci(env: dict | None = None) -> bool:
    """True under CI, where a missing client is a failure rather than a skip."""
    value = (os.environ if env is None else env).get("CI", "")
    return value.strip().lower() in ("1", "true", "yes")


def missing(*clients: str) -> list[str]:
    """The reasons of the clients among `clients` that are not on this machine."""
    reasons = []
    for client in clients:
        present, reason = _found(client)
        if not present:
            reasons.append(reason)
    return reasons


def require(*clients: str, env: dict | None = None) -> None:
    """Skip the calling test when a client is missing, or fail it under CI=true."""
    reasons = missing(*clients)
    if not reasons:
        return
    text = "; ".join(reasons)
    if in_ci(env):
        pytest.fail(f"CI=true and a real client is missing: {text}", pytrace=False)
    pytest.skip(text)
