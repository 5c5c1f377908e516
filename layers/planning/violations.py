"""Running the rules, and keeping the violations layer (`planning.violations`) current.

Where the refresh runs: after the commit of every write that changes a rule's input
(the write API, `gisdb edit`, imports), in its own transaction on the same engine, and
only over the area the written features touch (their bounding box, widened by the
rules' reach, and where their violations were): the writer's transaction is never held
open by analyses, an edit is visible in the layer as soon as the write answers, and
readers (the web role cannot write) never refresh. The area reaches each rule's
innermost scan (`Rule.select(region=...)`), planned without parallel workers, so a
single-feature refresh on the city of scale 35 takes ~0.1 s (bench/rules_bench.py) and
stays synchronous inside the write. Anything else
(a DBA's plain SQL) shows in `rules_stale()`, from the data versions each rule was last
refreshed at; `gisdb check --refresh` brings the stale rules up to date.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import sqlalchemy as sa
from geoalchemy2 import functions as gf
from sqlalchemy.dialects.postgresql import insert as pg_insert

from gisdb.bulk import BULK_MIN_ROWS, build_indexes, drop_secondary_indexes, worth_deferring
from gisdb.errors import InvalidParameter
from gisdb.model import STORAGE_SRID
from gisdb.versions import table_versions

from ..registry import get_layer
from .rules import RULES, Rule
from .violations_table import RuleState, Violation

LOG = logging.getLogger(__name__)
REACH_DEGREES = 0.0006      # how far a change can move a verdict (roads, neighbours): ~65 m


@dataclass(frozen=True)
class CheckSummary:
    """What one rule found."""

    rule_id: str
    count: int
    severity: str
    title_vi: str
    title_en: str
    seconds: float


def chosen_rules(rule_ids=None) -> list[Rule]:
    """The rules named (all when None); InvalidParameter for an unknown id."""
    if not rule_ids:
        return list(RULES.values())
    unknown = [r for r in rule_ids if r not in RULES]
    if unknown:
        raise InvalidParameter(f"unknown rule {unknown[0]!r}; rules: {', '.join(RULES)}")
    return [RULES[r] for r in dict.fromkeys(rule_ids)]


def run_checks(conn: sa.Connection, rule_ids=None, ward: str | None = None) -> list[CheckSummary]:
    """Count each rule's offending features (in one ward when given)."""
    out = []
    for rule in chosen_rules(rule_ids):
        started = time.perf_counter()
        count = conn.execute(sa.select(sa.func.count()).select_from(rule.select(ward).subquery())).scalar_one()
        out.append(CheckSummary(rule.id, count, rule.severity, rule.title_vi, rule.title_en,
                                round(time.perf_counter() - started, 3)))
    return out


def input_tables(rule: Rule) -> list[str]:
    """`schema.table` of every layer the rule reads."""
    return sorted(get_layer(layer_id).table_name for layer_id in rule.layers)


def rules_stale(conn: sa.Connection) -> list[str]:
    """Ids of the rules whose input layers' data changed since their last refresh (or
    that were never refreshed)."""
    versions = table_versions(conn)
    seen = dict(conn.execute(sa.select(RuleState.rule_id, RuleState.versions)).all())
    return [rule.id for rule in RULES.values()
            if seen.get(rule.id) != {t: versions.get(t) for t in input_tables(rule)}]


def refresh_violations(conn: sa.Connection, rule_ids=None, region=None) -> int:
    """Bring the violations of the rules (all when None) up to date, within `region` (a
    geometry expression, EPSG:4326) or everywhere; returns how many violations those
    rules now have there. First-seen times of violations that remain are kept."""
    versions = table_versions(conn)
    total = 0
    for rule in chosen_rules(rule_ids):
        total += _refresh_rule(conn, rule, region)
        _remember(conn, rule, versions)
    return total


def narrow_plans(conn: sa.Connection) -> None:
    """For the rest of the transaction, plan for a small area: no parallel workers (a
    parallel plan walks a whole table in id order to share it out, where the spatial
    index finds the few features of a region at once)."""
    conn.execute(sa.text("SET LOCAL max_parallel_workers_per_gather = 0"))


def _refresh_rule(conn: sa.Connection, rule: Rule, region) -> int:
    """Upsert the rule's violations (within `region` when given), drop those gone."""
    if region is not None:
        narrow_plans(conn)
    found = rule.select(region=region).subquery("found")
    now = sa.func.now()       # the transaction's start: what this refresh saw is last_seen = now()
    inside = sa.true() if region is None else found.c.geom.op("&&")(region)
    rows = sa.select(sa.literal(rule.id), sa.literal(rule.target_layer), found.c.feature_id,
                     found.c.measured, found.c.limit_value, found.c.excess, found.c.unit,
                     sa.literal(rule.severity), found.c.ward_code, now, now, found.c.geom).where(inside)
    columns = ["rule_id", "target_layer", "feature_id", "measured", "limit_value", "excess", "unit",
               "severity", "ward_code", "first_seen", "last_seen", "geom"]
    insert = pg_insert(Violation).from_select(columns, rows)
    kept = {c: insert.excluded[c] for c in ("measured", "limit_value", "excess", "unit", "severity",
                                            "ward_code", "last_seen", "geom")}
    upsert = insert.on_conflict_do_update(constraint="violations_natural_key", set_=kept)
    count = conn.execute(upsert.execution_options(preserve_rowcount=True)).rowcount    # no ids to Python
    gone = sa.delete(Violation).where(Violation.rule_id == rule.id, Violation.last_seen < now)
    if region is not None:
        gone = gone.where(Violation.geom.op("&&")(region))
    conn.execute(gone)
    return count


def _remember(conn: sa.Connection, rule: Rule, versions: dict[str, int]) -> None:
    state = {t: versions.get(t) for t in input_tables(rule)}
    stmt = pg_insert(RuleState).values(rule_id=rule.id, versions=state, refreshed_at=sa.func.now())
    conn.execute(stmt.on_conflict_do_update(index_elements=["rule_id"], set_={
        "versions": stmt.excluded.versions, "refreshed_at": stmt.excluded.refreshed_at}))


def refresh_after_write(engine: sa.Engine, layer_id: str, feature_ids) -> int:
    """After a committed write of `feature_ids` of `layer_id`: refresh the rules that
    read the layer over the area those features (and their violations) cover."""
    rules = [r.id for r in RULES.values() if layer_id in r.layers]
    ids = [int(i) for i in feature_ids if i is not None]
    if not rules or not ids:
        return 0
    with engine.begin() as conn:
        box = conn.execute(_region_query(layer_id, ids)).scalar()
        if box is None:
            return 0
        return refresh_violations(conn, rules, sa.func.ST_GeomFromEWKB(sa.literal(box, sa.LargeBinary)))


def refresh_written(engine: sa.Engine, written) -> None:
    """After a committed write of (layer id, feature id) pairs: refresh each layer's
    area. A failure leaves the rules stale (`rules_stale`) and the write stands."""
    by_layer: dict[str, list[int]] = {}
    for layer_id, feature_id in written:
        by_layer.setdefault(layer_id, []).append(feature_id)
    for layer_id, ids in by_layer.items():
        try:
            refresh_after_write(engine, layer_id, ids)
        except sa.exc.SQLAlchemyError as exc:
            LOG.warning("violations not refreshed after a write to %s: %s", layer_id, exc)


def refresh_everywhere(engine: sa.Engine) -> int:
    """Every rule over the whole city (after loading the sample city, say)."""
    with engine.begin() as conn:
        return refresh_violations(conn)


def refresh_after_import(engine: sa.Engine, layer_id: str, inserted: int = 0,
                         extent: list[float] | None = None) -> int:
    """After a committed import into `layer_id` that inserted `inserted` features and
    wrote within `extent` (west, south, east, north, EPSG:4326; None: anywhere, as a
    large import does): refresh the rules reading the layer over that box widened by the
    rules' reach, as after an edit. A first load (at least as many new features as the violations table holds)
    refreshes everywhere and builds the violations table's secondary indexes once
    afterwards instead of row by row (`gisdb.bulk`): a first load of 200,000 buildings
    finds 200,000 `no_permit` violations."""
    rules = [r.id for r in RULES.values() if layer_id in r.layers]
    if not rules:
        return 0
    with engine.begin() as conn:
        deferred = []
        if inserted >= BULK_MIN_ROWS:
            present = conn.execute(sa.select(sa.func.count()).select_from(Violation)).scalar_one()
            if worth_deferring(inserted, present):
                table = Violation.__table__
                deferred = drop_secondary_indexes(conn, [f"{table.schema}.{table.name}"])
        region = None
        if extent is not None and not deferred:
            region = gf.ST_Expand(sa.func.ST_MakeEnvelope(*extent, STORAGE_SRID), REACH_DEGREES)
        total = refresh_violations(conn, rules, region)
        build_indexes(conn, deferred)
        return total


def _region_query(layer_id: str, ids: list[int]) -> sa.Select:
    """The box (EWKB) around the features now and their recorded violations, widened."""
    table = get_layer(layer_id).table
    now = sa.select(table.c.geom.label("geom")).where(table.c.id.in_(ids))
    before = sa.select(Violation.geom.label("geom")).where(Violation.target_layer == layer_id,
                                                          Violation.feature_id.in_(ids))
    both = sa.union_all(now, before).subquery()
    return sa.select(gf.ST_AsEWKB(gf.ST_Expand(gf.ST_Envelope(sa.func.ST_Collect(both.c.geom)),
                                               REACH_DEGREES)))
