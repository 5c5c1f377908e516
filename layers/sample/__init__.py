"""The sample city: a deterministic, realistic stand-in for Da Nang's land, construction
and traffic layers, for demos, tests and benchmarks, laid on the real city.

`load_sample_city(engine, scale=1, seed=1, progress=False)` loads every layer of the
registry plus `traffic.traffic_counts` in one transaction (COPY, streamed a chunk of map
sheets at a time) and returns the rows per layer id. The admin units are Da Nang's real
wards and communes of both periods, with their official codes and validity (`wards`,
`land`: read from the shipped base map files); every other feature lies on land (never in
the sea, a river, a lake or a pond), in blocks wholly inside one ward of each period,
densest around Hải Châu and present in every ward (`cells`). Scale 1 is ~29,000 features,
scale 35 about a million. The same (scale, seed) always gives the same rows. A database
that already holds the sample is refused with `gisdb.errors.AlreadyLoaded`;
`replace=True` empties every layer and reloads.

Deliberate irregularities, for the analyses to find:
- buildings above their zone's limit: ~1.5% of existing houses and shops have
  `floors` 1-3 above `zoning.max_floors` of the zone they stand in (their permit's
  `permitted_floors` equals the limit, so they exceed their permit too);
- buildings without a permit: ~6% of buildings built since 1995 (or under construction)
  and half of the older ones have no row in `permits`;
- every rule of the planning catalogue (`layers.planning.rules`) has planted cases and
  the rest of the city breaks none (`planted`): `planted_irregularities(scale, seed)`
  returns every (rule id, feature id) planted;
- invalid geometries live only in a separate raw file: `write_irregular_file(path)`
  writes a GeoJSON of parcels with two bow-tie polygons, an empty geometry, a point
  among polygons, a duplicate natural key and a missing required attribute, and returns
  where each problem is.
"""
from .extent import CORE_BBOX, WIDE_BBOX, bbox_for
from .generate import generate, planted_irregularities
from .irregular import write_irregular_file
from .land import land_polygon, real_city
from .load import clear_layers, load_sample_city, sample_state

__all__ = ["load_sample_city", "write_irregular_file", "generate", "planted_irregularities", "clear_layers", "sample_state", "bbox_for",
           "CORE_BBOX", "WIDE_BBOX", "land_polygon", "real_city"]
