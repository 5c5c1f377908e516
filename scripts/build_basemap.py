"""Build the offline base map of the real Da Nang shipped in `layers/basemap/`.

Where the data comes from: `../shared/realdata/` (see its README), small extracts of
OpenStreetMap (ward/commune boundaries before and after 1 July 2025, land use and water;
© OpenStreetMap contributors, ODbL 1.0) and of the Copernicus DEM GLO-30 (~30 m; © DLR
e.V. 2010-2014 and © Airbus Defence and Space GmbH 2014-2018, provided under COPERNICUS
by the European Union and ESA). The build is deterministic: re-running it on the same
extracts gives the same features (tests/test_basemap.py checks it).

    .venv/bin/python scripts/build_basemap.py [--source ../shared/realdata] [--out layers/basemap]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from layers.basemap import BASEMAP_DIR
from layers.basemap.build import build_basemap
from layers.basemap.sources import missing_sources

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "realdata"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help="folder of the OSM and DEM extracts (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=BASEMAP_DIR,
                        help="where to write the base map files (default: %(default)s)")
    args = parser.parse_args(argv)
    missing = missing_sources(args.source)
    if missing:
        print(f"build_basemap: {args.source} lacks {', '.join(missing)}", file=sys.stderr)
        return 2
    counts = build_basemap(args.source, args.out)
    for layer, count in counts.items():
        print(f"{layer:15} {count:6} features")
    return 0


if __name__ == "__main__":
    sys.exit(main())
