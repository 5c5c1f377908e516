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
from dataclasses import replace
from pathlib import Path

import mapbox_vector_tile
import numpy as np
import openpyxl
import pytest
import sqlalchemy as sa
from rasterio.io import MemoryFile

from access_fixtures import make_key
from clients import require
from fresh_databases import migrated_database
from gisdb.engine import make_engine
from layers.registry import get_layer
from ogc_rows import square
from served_app import in_thread
from webmap.app import create_app

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


@pytest.fixture(scope="module")
def readme_key(engine, sample_city):
    """The API key the README's examples name as `$GISDB_KEY` (read on every layer)."""
    return make_key(engine, "readme", "read")


@pytest.fixture(scope="module")
def live_writes(base_settings, tmp_path_factory):
    """(host, environment) of an app with writes on, over a database of its own holding
    buildings 1 to 3 (the editing examples change them) and traffic stations 1 and 2
    (the counts examples push to them), and the examples' keys."""
    with migrated_database(base_settings, "gisdb_readme", tmp_path_factory.mktemp("w")) as settings:
        engine = make_engine(settings, pool_size=1)
        with engine.begin() as conn:
            conn.execute(sa.insert(get_layer("buildings").table), [
                {"building_code": f"DN-README-{n}", "use": "residential", "floors": 2,
                 "geom": square(108.2121 + 0.001 * n, 16.0551)} for n in range(3)])
            conn.execute(sa.insert(get_layer("traffic_stations").table), [   # the counts examples
                {"id": n, "station_code": f"TDX-README-{n}", "geom": "SRID=4326;POINT(108.212 16.055)"}
                for n in (1, 2)])
        keys = {"GISDB_EDIT_KEY": make_key(engine, "readme-editor", "edit"),
                "GISDB_ADMIN_KEY": make_key(engine, "readme-admin", "admin")}
        application = create_app({"TESTING": True, "SETTINGS": replace(settings, writes=True)})
        try:
            with in_thread(application) as host:
                yield host, keys
        finally:
            application.extensions["gisdb"].dispose()
            engine.dispose()


@pytest.fixture
def shell(tmp_path, live, readme_key, request):
    """Runs one README line in bash, in an empty directory, with the live port and an
    API key in `$GISDB_KEY`; curl reports its status through a `.curlrc` (the line itself
    is unchanged). Lines with an edit or admin key (`$GISDB_EDIT_KEY`, `$GISDB_ADMIN_KEY`)
    go to an app with writes on, over a database of its own."""
    (tmp_path / ".curlrc").write_text(f'silent\nshow-error\nwrite-out = "\\n{STATUS} %{{http_code}}\\n"\n')

    def run(line: str) -> tuple[str, Path]:
        host, keys = live, {}
        if "$GISDB_EDIT_KEY" in line or "$GISDB_ADMIN_KEY" in line:
            host, keys = request.getfixturevalue("live_writes")
        done = subprocess.run(["bash", "-c", line.replace(DOCUMENTED, host)], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120,
                              env={"PATH": "/usr/bin:/bin", "CURL_HOME": str(tmp_path),
                                   "HOME": str(tmp_path), "GISDB_KEY": readme_key, **keys})
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
    collections, queryables, vector layers, a caller's roles, a created feature, audit
    entries, processes, a process's inputs, jobs (0 means the example found nothing)."""
    if "id" in doc and "repairs" in doc:
        return 1                                    # a created feature
    if isinstance(doc.get("features"), dict):       # a FeatureCollection inside (/query/impact)
        return len(doc["features"]["features"])
    if "land_use" in doc:                           # a ward or district report
        return len(doc["land_use"]) + doc["buildings"]["count"]
    if "inserted" in doc and "unchanged" in doc:
        return doc["inserted"] + doc["updated"] + doc["unchanged"]      # a batch of counts
    if "jobID" in doc:
        return 1                                    # a job's status
    for key in ("features", "results", "collections", "vector_layers", "tileMatrixSetLimits",
                "entries", "versions", "series", "changes", "processes", "jobs", "inputs", "findings"):
        if key in doc:
            return len(doc[key])
    if "roles" in doc:                              # /auth/me
        return len(doc["roles"])
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
    if status == 204:
        return                                      # a write done (its ETag is the answer)
    target = saved_file(line, cwd)
    if target is None:
        amount = json_content(json.loads(body))
    elif target.suffix == ".csv":
        amount = len(target.read_text(encoding="utf-8").splitlines()) - 1      # rows under the header
    elif target.suffix == ".pdf":
        amount = len(re.findall(rb"/Type\s*/Page\b", target.read_bytes()))      # pages
    elif target.suffix == ".xlsx":
        amount = sum(sheet.max_row - 2 for sheet in openpyxl.load_workbook(target).worksheets)  # rows
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
