"""Every `curl` and `ogrinfo` line of the README's ```sh blocks, run verbatim by a shell
against a live server on the sample city (only the port changes), must answer 2xx with
something in it: features, results, counts, a tile with features or coloured pixels.
So the README's examples cannot rot: an example that is not valid shell (unencoded
spaces), or that points outside the sample city, fails here and the message names it.

The example points and boxes sit around the sample city's centre (`CENTRE` in
`layers/sample/extent.py`, 108.212 E 16.055 N, in Hải Châu), which is the densest part
of the sample city at every scale. The other ```sh lines (`make`, `gisdb import` of a
contractor's file) need files or take minutes; they are not run here."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import mapbox_vector_tile
import numpy as np
import pytest
from rasterio.io import MemoryFile

from clients import require
from served_app import in_thread

README = Path(__file__).resolve().parent.parent / "README.md"
DOCUMENTED = "127.0.0.1:5000"
STATUS = "__STATUS__"


def sh_blocks(text: str) -> list[str]:
    """The bodies of the ```sh fenced blocks."""
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)


def commands(text: str) -> list[str]:
    """Each command line of the sh blocks (backslash continuations joined) that runs
    `curl` or `ogrinfo`."""
    found = []
    for block in sh_blocks(text):
        for line in block.replace("\\\n", " ").splitlines():
            if line.split()[:1] in (["curl"], ["ogrinfo"]):
                found.append(line.strip())
    return found


EXAMPLES = commands(README.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def live(app):
    """The test app on a free port, served by werkzeug in a thread."""
    with in_thread(app) as host:
        yield host


@pytest.fixture
def shell(tmp_path, live):
    """Runs one README line in bash, in an empty directory, with the live port; curl
    reports its status through a `.curlrc` (the line itself is unchanged)."""
    (tmp_path / ".curlrc").write_text(f'silent\nshow-error\nwrite-out = "\\n{STATUS} %{{http_code}}\\n"\n')

    def run(line: str) -> tuple[str, Path]:
        done = subprocess.run(["bash", "-c", line.replace(DOCUMENTED, live)], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120,
                              env={"PATH": "/usr/bin:/bin", "CURL_HOME": str(tmp_path),
                                   "HOME": str(tmp_path)})
        assert done.returncode == 0, f"{line}\nexit {done.returncode}: {done.stderr[-500:]}"
        return done.stdout, tmp_path
    return run


def curl_answer(stdout: str, line: str) -> tuple[int, str]:
    """The HTTP status and the body curl printed (empty when it wrote to a file)."""
    body, _, status = stdout.rpartition(STATUS)
    assert status.strip().isdigit(), f"{line}: no status from curl: {stdout[-300:]!r}"
    return int(status), body.strip()


def saved_file(line: str, cwd: Path) -> Path | None:
    match = re.search(r"-o\s+(\S+)", line)
    return cwd / match.group(1) if match else None


def mvt_features(data: bytes) -> int:
    return sum(len(layer["features"]) for layer in mapbox_vector_tile.decode(data).values())


def coloured_pixels(data: bytes) -> int:
    with MemoryFile(data) as mem, mem.open() as png:
        alpha = png.read(png.count)
    return int(np.count_nonzero(alpha))


def json_content(doc: dict) -> int:
    """How much a JSON answer holds: features, results, units, layers with counts,
    collections, queryables, vector layers, versions of a feature, changes of the feed (0
    means the example found nothing)."""
    for key in ("features", "results", "collections", "vector_layers", "tileMatrixSetLimits", "versions",
                "changes"):
        if key in doc:
            return len(doc[key])
    if "units" in doc:
        return sum(unit["count"] for unit in doc["units"])
    if "layers" in doc:
        return sum(layer["count"] for layer in doc["layers"])
    if "properties" in doc:
        return len(doc["properties"]) - 1          # queryables besides the geometry
    return 0


def check_curl(line: str, stdout: str, cwd: Path) -> None:
    status, body = curl_answer(stdout, line)
    assert 200 <= status < 300, f"{line}\nHTTP {status}: {body[:300]}"
    target = saved_file(line, cwd)
    if target is None:
        amount = json_content(json.loads(body))
    elif target.suffix == ".mvt":
        amount = mvt_features(target.read_bytes())
    else:
        amount = coloured_pixels(target.read_bytes())
    assert amount >= 1, f"{line}\nanswered {status} with nothing in it: {body[:300]}"


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 15, EXAMPLES
    assert any("query/identify" in line for line in EXAMPLES)
    assert any(line.startswith("ogrinfo") for line in EXAMPLES)


@pytest.mark.parametrize("line", EXAMPLES, ids=[f"{i:02d}" for i in range(len(EXAMPLES))])
def test_readme_example_answers_something(line, shell):
    if line.startswith("ogrinfo"):
        require("ogrinfo")
        stdout, _ = shell(line)
        counts = [int(n) for n in re.findall(r"Feature Count: (\d+)", stdout)]
        assert counts and min(counts) >= 1, f"{line}\n{stdout[-500:]}"
        return
    require("curl")
    stdout, cwd = shell(line)
    check_curl(line, stdout, cwd)


def history_commands(text: str) -> list[str]:
    """The read-only `gisdb history` and `gisdb diff` lines of the sh blocks."""
    return [line.strip() for block in sh_blocks(text) for line in block.splitlines()
            if line.split()[:2] in ([".venv/bin/gisdb", "history"], [".venv/bin/gisdb", "diff"])]


HISTORY_EXAMPLES = history_commands(README.read_text(encoding="utf-8"))


@pytest.mark.parametrize("line", HISTORY_EXAMPLES, ids=[f"h{i:02d}" for i in range(len(HISTORY_EXAMPLES))])
def test_readme_history_example_prints_something(line, settings, sample_city):
    done = subprocess.run(["bash", "-c", line], cwd=README.parent, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(settings.data_dir),
                               "GISDB_DATABASE_URL": settings.database_url,
                               "GISDB_DATA_DIR": str(settings.data_dir)})
    assert done.returncode == 0, f"{line}\nexit {done.returncode}: {done.stderr[-500:]}"
    assert len(done.stdout.splitlines()) >= 2, f"{line}\nprinted nothing: {done.stdout[-300:]}"
