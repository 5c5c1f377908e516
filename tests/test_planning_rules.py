"""The planning rule catalogue over a sample city of this module's own (the shared one
takes the write tests' features): every rule finds exactly what the generator planted,
each uses the spatial indexes, and the ward filter holds."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from layers.planning.rules import RESULT_COLUMNS, RULES, SEVERITIES
from layers.registry import layer_ids
from layers.sample import load_sample_city, planted_irregularities

CITY = dict(scale=0.5, seed=2)

ATTRIBUTE_ONLY = {"no_permit", "permit_expired", "beyond_permit_floors", "beyond_permit_area",
                  "beyond_permit_height", "permit_outside_parcel"}   # joined by ids, not space
SPATIAL = re.compile(r"st_intersects|st_dwithin|&&", re.I)


@pytest.fixture(scope="module")
def engine(own_database):
    """A database of this module's own with a sample city no other test writes to."""
    load_sample_city(own_database[1], **CITY)
    return own_database[1]


def _found(conn, rule, ward=None) -> set[tuple[str, int]]:
    rows = conn.execute(sa.select(rule.select(ward).subquery().c.feature_id))
    return {(rule.id, fid) for fid, in rows}


def test_catalogue_entries_are_complete():
    assert len(RULES) >= 13
    for rule_id, rule in RULES.items():
        assert rule.id == rule_id and re.fullmatch(r"[a-z][a-z_]+", rule_id)
        assert rule.title_vi and rule.title_en and rule.explanation_vi and rule.explanation_en
        assert rule.severity in SEVERITIES
        assert rule.target_layer in rule.layers and set(rule.layers) <= set(layer_ids())
        assert tuple(rule.select().selected_columns.keys()) == RESULT_COLUMNS


def test_checks_find_every_planted_irregularity_and_nothing_else(engine):
    planted = planted_irregularities(**CITY)
    with engine.connect() as conn:
        found = set().union(*(_found(conn, rule) for rule in RULES.values()))
    assert {rule_id for rule_id, _ in planted} == set(RULES)      # every rule has cases
    assert planted - found == set(), "planted but not found"
    assert found - planted == set(), "found but never planted"


def test_ward_filter_keeps_one_ward(engine):
    rule = RULES["no_permit"]
    with engine.connect() as conn:
        ward = conn.execute(sa.select(rule.select().subquery().c.ward_code).limit(1)).scalar()
        rows = conn.execute(rule.select(ward)).all()
        everywhere = conn.execute(sa.select(sa.func.count()).select_from(rule.select().subquery())).scalar()
    assert rows and {r.ward_code for r in rows} == {ward} and len(rows) < everywhere


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_plan_uses_spatial_indexes(engine, rule_id):
    """No spatial predicate is evaluated as a join filter or on a sequential scan: each
    sits on an index scan of a geometry index (a nested loop probing the index)."""
    sql = str(RULES[rule_id].select().compile(dialect=postgresql.psycopg.dialect(),
                                               compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        plan = [row[0] for row in conn.execute(sa.text("EXPLAIN " + sql))]
    node = ""
    for line in plan:
        text = line.strip()
        if "->" in text or not text.startswith(("Filter", "Join Filter", "Index Cond", "Recheck")):
            node = text
            continue
        if SPATIAL.search(text) and "NOT st_intersects" not in text:
            assert not text.startswith("Join Filter"), "\n".join(plan)
            assert re.search(r"Index Scan using idx_\w+_geom", node), "\n".join(plan)
    if rule_id not in ATTRIBUTE_ONLY:
        assert any(re.search(r"Index Scan using idx_\w+_geom", line) for line in plan), "\n".join(plan)



def _scans(conn, select) -> list[dict]:
    """The scan nodes of the plan EXPLAIN ANALYZE ran (the region inlined as a literal)."""
    sql = str(select.compile(dialect=postgresql.psycopg.dialect(), compile_kwargs={"literal_binds": True}))
    out, todo = [], [conn.execute(sa.text("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)).scalar()[0]["Plan"]]
    while todo:
        node = todo.pop()
        todo.extend(node.get("Plans", ()))
        if node.get("Relation Name"):
            out.append(node)
    return out


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_over_a_small_region_reads_only_that_region(engine, rule_id):
    """A refresh's region (one finding's box widened by the rules' reach) reaches the
    rule's innermost scan of its target table, as a condition on that scan (so the
    spatial index reads the region, not the city: bench/rules_bench.py shows the time at
    scale 35), and the rule finds there exactly what it finds city-wide inside the box."""
    from layers.planning.violations import REACH_DEGREES, narrow_plans
    from layers.registry import get_layer
    rule = RULES[rule_id]
    table = get_layer(rule.target_layer).table.name
    with engine.begin() as conn:
        narrow_plans(conn)                     # what the refresh of an area plans with
        hexbox = conn.execute(sa.select(sa.func.encode(sa.func.ST_AsEWKB(sa.func.ST_Expand(sa.func.ST_Envelope(
            rule.select().subquery().c.geom), REACH_DEGREES)), "hex")).limit(1)).scalar()
        region = sa.func.ST_GeomFromEWKB(sa.literal(bytes.fromhex(hexbox), sa.LargeBinary))
        everywhere = rule.select().subquery()
        expected = set(conn.execute(sa.select(everywhere.c.feature_id).where(everywhere.c.geom.op("&&")(region))).scalars())
        found = set(conn.execute(sa.select(rule.select(region=region).subquery().c.feature_id)).scalars())
        scans = [n for n in _scans(conn, rule.select(region=region)) if n["Relation Name"] == table]
    assert found == expected and found
    conditions = [" ".join(str(n.get(k, "")) for k in ("Index Cond", "Filter", "Recheck Cond")) for n in scans]
    assert any(hexbox.upper() in c.upper() for c in conditions), conditions
