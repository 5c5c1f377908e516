"""Reading Da Nang's layers from Python, as an analyst would in a notebook.

Run it against the configured database (the environment, as for `gisdb`):

    .venv/bin/python docs/analyst_example.py

Each block is one notebook cell; `tests/test_analyst.py` runs this file against the
test database, so it keeps working.
"""
from layers import analyst

# %% A layer as a GeoDataFrame, in EPSG:4326 (longitude, latitude)
parcels = analyst.layer("parcels")
print(f"{len(parcels)} parcels, CRS {parcels.crs.to_string()}")

# %% Areas in metres: VN-2000 / TM-3 107-45 (EPSG:5899), never degrees
parcels["area_vn2000_m2"] = parcels.to_crs(5899).area
print(parcels.groupby("land_use")["area_vn2000_m2"].sum().round(0).sort_values().tail(5))

# %% A box and a CQL2 filter, the same rules as /collections/{layer}/items
tall = analyst.layer("buildings", bbox=(108.20, 16.04, 108.22, 16.06), filter="floors > 5")
print(f"{len(tall)} buildings above 5 floors around the centre of Hải Châu")

# %% The layer as it was at an instant (the history): before the data, nothing
print(f"{len(analyst.layer('roads', as_of='2001-01-01'))} roads on 2001-01-01")

# %% A big layer in chunks, streamed: memory stays flat
total = 0
for chunk in analyst.layer("buildings", chunksize=2000):
    total += int(chunk["floors"].fillna(1).clip(lower=1).sum())
print(f"{total} floors in all buildings")

# %% The planning rules: the buildings above their zone's floor limit, per ward
over = analyst.check("zoning_floors")
print(f"{len(over)} buildings above their zone's floor limit")
print(over.groupby("ward_code").size().sort_values().tail(3))
