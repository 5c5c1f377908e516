"""Benchmark of the processes and the analysts' API (run by hand, never in tests).

Against an existing database with the sample city (e.g. `GISDB_DATABASE_NAME=proc_bench
.venv/bin/gisdb sample --scale 3`), each pair alternates, run by run, ours and its
baseline measured in the same moment (the machine is shared; single timings drift), and
prints the medians and the median of the pairs' ratios (ours / baseline):

- count-within executed synchronously (`POST /processes/count-within/execution`, in
  process) vs `POST /query/within` of the same area and layers (the process adds the
  breakdowns and the ward parts);
- the same area as a job (submit, then poll until successful) vs synchronously;
- `layers.analyst.layer("buildings")` vs `geopandas.read_postgis` of the same statement;
- the peak Python memory of reading buildings in chunks of 2,000 vs whole.

    GISDB_DATABASE_NAME=proc_bench .venv/bin/python bench/processes_bench.py --repeat 7
"""
from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

import geopandas
import sqlalchemy as sa

from gisdb.engine import make_engine
from gisdb.settings import Settings
from layers import analyst

SQUARE = {"type": "Polygon", "coordinates": [[[108.200, 16.045], [108.220, 16.045],
                                              [108.220, 16.065], [108.200, 16.065],
                                              [108.200, 16.045]]]}
LAYERS = ["buildings", "parcels", "roads"]


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def pairs(name: str, ours, base, repeat: int) -> None:
    """Alternate the two calls; print medians and the median ratio."""
    ours(), base()                                   # warm caches and pools
    a, b = [], []
    for _ in range(repeat):
        a.append(timed(ours))
        b.append(timed(base))
    ratios = [x / y for x, y in zip(a, b)]
    print(f"{name}: ours {statistics.median(a) * 1000:.1f} ms, baseline "
          f"{statistics.median(b) * 1000:.1f} ms, median ratio {statistics.median(ratios):.2f}")


def web_pairs(settings: Settings, repeat: int) -> None:
    from webmap.app import create_app
    app = create_app({"SETTINGS": settings})
    client = app.test_client()
    body = {"inputs": {"geometry": SQUARE, "layers": LAYERS}}

    def sync():
        assert client.post("/processes/count-within/execution", json=body).status_code == 200

    def within():
        assert client.post("/query/within", json={"geometry": SQUARE,
                                                  "layers": ",".join(LAYERS)}).status_code == 200

    def job():
        resp = client.post("/processes/count-within/execution", json=body,
                           headers={"Prefer": "respond-async"})
        url = resp.headers["Location"].split("://", 1)[1].split("/", 1)[1]
        while client.get("/" + url).get_json()["status"] in ("accepted", "running"):
            time.sleep(0.02)

    pairs("count-within sync vs /query/within", sync, within, repeat)
    pairs("count-within as a job vs sync", job, sync, repeat)
    app.extensions["gisdb"].dispose()


def peak(call) -> int:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def analyst_pairs(settings: Settings, repeat: int) -> None:
    analyst.connect(settings=settings)
    engine = make_engine(settings.for_web(), pool_size=1)
    stmt = analyst.layer_statement("buildings")        # the same SQL for both

    def ours():
        analyst.layer("buildings")

    def base():
        with engine.connect() as conn:
            geopandas.read_postgis(stmt, conn, geom_col="geometry", crs=4326)

    pairs("analyst.layer('buildings') vs geopandas.read_postgis", ours, base, repeat)
    whole = peak(lambda: len(analyst.layer("buildings")))
    chunked = peak(lambda: sum(len(c) for c in analyst.layer("buildings", chunksize=2000)))
    print(f"peak Python memory: chunks of 2,000 {chunked / 1e6:.1f} MB vs whole "
          f"{whole / 1e6:.1f} MB (ratio {chunked / whole:.2f})")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    settings = Settings.from_env()
    with make_engine(settings, pool_size=1).connect() as conn:
        print("buildings:", conn.execute(sa.text("SELECT count(*) FROM construction.buildings")).scalar())
    web_pairs(settings, args.repeat)
    analyst_pairs(settings, args.repeat)


if __name__ == "__main__":
    main()
