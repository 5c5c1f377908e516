"""The dense blocks of a big sample city (four rows of narrower parcels along two more
kiệt), made to appear in a small city by lowering the scale where densifying starts: on
Da Nang's land, every feature in place, and the planning checks find exactly the
irregularities the generator planted in them."""
from __future__ import annotations

import sqlalchemy as sa

from layers.planning.rules import RULES
from layers.sample import load_sample_city, planted_irregularities, streets

CITY = dict(scale=0.6, seed=4)


def test_dense_blocks_keep_the_planted_irregularities_exact(own_database, monkeypatch):
    monkeypatch.setattr(streets, "DENSE_FROM", 0.2)
    monkeypatch.setattr(streets, "DENSE_FULL", 1.0)
    plan = streets.plan_city(**CITY)
    assert plan.attrs["dense"].sum() > plan.size / 4          # the core's ordinary blocks
    engine = own_database[1]
    counts = load_sample_city(engine, **CITY)
    planted = planted_irregularities(**CITY)
    with engine.connect() as conn:
        found = set()
        for rule in RULES.values():
            ids = conn.execute(sa.select(rule.select().subquery().c.feature_id)).scalars()
            found |= {(rule.id, fid) for fid in ids}
        alleys = conn.execute(sa.text("SELECT count(*) FROM traffic.roads WHERE road_class = 'alley'")).scalar()
        outside = conn.execute(sa.text(
            "SELECT count(*) FROM construction.buildings b JOIN land.parcels p ON p.id = b.parcel_id "
            "WHERE NOT ST_Within(b.geom, p.geom)")).scalar()
    assert alleys >= 2 * plan.attrs["dense"].sum()              # two kiệt through each dense block
    assert counts["buildings"] > 0.7 * counts["parcels"]
    assert outside == len({fid for rule, fid in planted if rule in ("parcel_overlap", "road_right_of_way")})
    assert planted - found == set(), "planted but not found"
    assert found - planted == set(), "found but never planted"
