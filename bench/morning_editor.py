"""The writers of a planners' morning (bench/morning_bench.py): an IOC operator who keeps
editing traffic incidents through the API and, after each save, clicks the incident on
the map (identify) with the write's `Gisdb-Lsn`, as the map does. The write goes to the
primary; the identify may be answered by a replica only once it has replayed the write
(read-your-writes, webmap/read_routing.py): the editor checks that it sees its own edit.

Incidents, not buildings: an edit changes its layer's data version and so the versioned
tile URLs of that layer; the planners' tile lists stay on the four map layers, so the
edits cost what an edit costs (a write, a replica replay, an identify), not a cold tile
cache for every planner (which is a different morning: `--cold`)."""
from __future__ import annotations

import json
import sys
import threading
import time
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from access_fixtures import make_key  # noqa: E402
from gisdb.engine import make_engine  # noqa: E402
from gisdb.settings import Settings  # noqa: E402

PAUSE_S = 1.0                            # an operator saves about once a second


def editor_key(settings: Settings) -> str:
    """A fresh API key of a user with the edit role on the traffic layers."""
    engine = make_engine(settings, pool_size=1)
    try:
        return make_key(engine, "morning-bench-ioc", "edit", "traffic")
    finally:
        engine.dispose()


def incident_points(settings: Settings, centre: tuple[float, float],
                    count: int = 50) -> list[tuple[int, float, float]]:
    """(id, lon, lat) of the incidents nearest `centre`."""
    engine = make_engine(settings, pool_size=1)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT id, ST_X(geom), ST_Y(geom) FROM traffic.incidents "
            "ORDER BY geom <-> ST_SetSRID(ST_MakePoint(:x, :y), 4326) LIMIT :n"),
            {"x": centre[0], "y": centre[1], "n": count}).all()
    engine.dispose()
    return [(int(i), float(x), float(y)) for i, x, y in rows]


def _call(req: urllib.request.Request) -> tuple[int, Message, dict]:
    """(status, headers (case-insensitive), JSON body) of one request; HTTP errors are
    answers too."""
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            body = resp.read()
            return resp.status, resp.headers, json.loads(body) if body else {}
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, {}


class Editor(threading.Thread):
    """Edit an incident's description, then identify it with the write's position; until
    stopped. Counts writes, reads of the own write, stale reads and errors."""

    def __init__(self, base: str, key: str, incidents: list[tuple[int, float, float]]):
        super().__init__(daemon=True)
        self.base, self.key, self.incidents = base, key, incidents
        self.write_ms: list[float] = []
        self.read_ms: list[float] = []
        self.read_from: dict[str, int] = {}
        self.stale = self.errors = 0
        self.lsn = ""
        self.last_error = ""
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            fid, lon, lat = self.incidents[n % len(self.incidents)]
            n += 1
            try:
                self.edit_and_read(fid, lon, lat, f"morning bench {time.time():.6f}")
            except (OSError, ValueError) as exc:
                self.errors += 1
                self.last_error = str(exc)[:120]
            self.stop.wait(PAUSE_S)

    def edit_and_read(self, fid: int, lon: float, lat: float, text: str) -> None:
        item = f"{self.base}/collections/incidents/items/{fid}"
        mine = {"Gisdb-Lsn": self.lsn} if self.lsn else {}       # as the map's cookie does
        status, headers, _ = _call(urllib.request.Request(item, headers={"Accept": "application/geo+json", **mine}))
        if status != 200 or not headers.get("ETag"):
            return self._failed(f"GET {status}")
        started = time.perf_counter()
        status, headers, _ = _call(urllib.request.Request(
            item, method="PATCH", data=json.dumps({"properties": {"description": text}}).encode(),
            headers={"Authorization": f"Bearer {self.key}", "If-Match": headers["ETag"],
                     "Content-Type": "application/merge-patch+json"}))
        if status not in (200, 204):
            return self._failed(f"PATCH {status}")
        self.write_ms.append(1000 * (time.perf_counter() - started))
        self.lsn = headers.get("Gisdb-Lsn", "")          # (only where replicas are configured)
        started = time.perf_counter()
        status, seen, doc = _call(urllib.request.Request(
            f"{self.base}/query/identify?lon={lon:.7f}&lat={lat:.7f}&layers=incidents&tolerance=1",
            headers={"Gisdb-Lsn": self.lsn} if self.lsn else {}))
        if status != 200:
            return self._failed(f"identify {status}")
        self.read_ms.append(1000 * (time.perf_counter() - started))
        who = seen.get("Gisdb-Read-From", "primary")     # (no router without replicas)
        self.read_from[who] = self.read_from.get(who, 0) + 1
        mine = [f for f in doc.get("features", []) if f.get("id") == fid]
        if not mine or mine[0]["properties"].get("description") != text:
            self.stale += 1

    def _failed(self, what: str) -> None:
        self.errors += 1
        self.last_error = what

    def report(self) -> str:
        def pct(ms: list[float], q: float) -> float:
            ms = sorted(ms) or [0.0]
            return ms[min(len(ms) - 1, int(q * len(ms)))]
        froms = ",".join(f"{k}:{v}" for k, v in sorted(self.read_from.items()))
        return (f"edits {len(self.write_ms)} (p50 {pct(self.write_ms, .5):.0f} ms), identify after "
                f"write p50 {pct(self.read_ms, .5):.0f} p95 {pct(self.read_ms, .95):.0f} ms from "
                f"{froms or '-'}, stale {self.stale}, err {self.errors} {self.last_error}")
