"""The sample city: deterministic, on Da Nang's real land and in its real wards, denser in
the centre, realistic structure, deliberate irregularities, refusal to load twice, and
the `gisdb sample` command."""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import replace

import pytest
import shapely
import sqlalchemy as sa
from click.testing import CliRunner
from geoalchemy2 import Geography

from gisdb.database import create_database, drop_database
from gisdb.engine import make_engine
from gisdb.errors import AlreadyLoaded, InvalidParameter
from layers.registry import ALL_LAYERS, get_layer, is_derived
from layers.sample import (
    CORE_BBOX,
    WIDE_BBOX,
    generate,
    land_polygon,
    load_sample_city,
    planted_irregularities,
    real_city,
    sample_state,
    write_irregular_file,
)
from layers.sample.admin import assign_units, zoning_batch
from layers.sample.construction import buildings_and_permits
from layers.sample.generate import chunks
from layers.sample.network import build_network
from layers.sample.parcels import build_parcels
from layers.sample.streets import city_size, plan_city
from layers.sample.traffic import COUNT_HOURS
from layers.schema import migrate
from scripts.cli import main

SMALL = dict(scale=0.15, seed=5)


def _rows_digest(batches) -> str:
    digest = hashlib.sha256()
    for batch in batches:
        digest.update(batch.table.encode())
        for row in batch.rows:
            digest.update(repr(row).encode())
    return digest.hexdigest()


def _db_digest(engine) -> str:
    """Hash of every sample row in the database (ids, attributes, geometries)."""
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in [layer.table for layer in ALL_LAYERS]:
            cols = [sa.func.ST_AsEWKT(c) if c.name == "geom" else c
                    for c in table.c if c.name not in ("updated_at", "geom_3857")]
            for row in conn.execute(sa.select(*cols).order_by(table.c.id)):
                digest.update(repr(tuple(row)).encode())
        counts = conn.execute(sa.text(
            "SELECT md5(string_agg(t::text, '|' ORDER BY station_id, counted_at)) "
            "FROM (SELECT station_id, counted_at, motorbikes, cars, trucks, buses, avg_speed_kmh "
            "FROM traffic.traffic_counts) t")).scalar()
        digest.update(counts.encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def own_engine(base_settings):
    """A second fresh database for loads the session database must not see."""
    name = f"gisdb_test_sample_{uuid.uuid4().hex[:8]}"
    url = create_database(base_settings, name)
    engine = make_engine(replace(base_settings, database_url=url, statement_timeout_ms=15000),
                         pool_size=1)
    migrate(engine)
    yield engine
    engine.dispose()
    drop_database(base_settings, name)


def _sample_filter(conn, layer_id: str) -> sa.ColumnElement:
    """Only the sample's rows (other tests may add rows to the session database)."""
    first, last = sample_state(conn)["ids"][layer_id]
    return get_layer(layer_id).table.c.id.between(first, last)


# --- determinism ---------------------------------------------------------------------

def test_generator_is_deterministic_and_seed_matters():
    first = _rows_digest(generate(**SMALL))
    assert _rows_digest(generate(**SMALL)) == first
    assert _rows_digest(generate(scale=SMALL["scale"], seed=SMALL["seed"] + 1)) != first


def test_load_is_deterministic_refuses_twice_and_replaces(own_engine):
    seen = []
    counts = load_sample_city(own_engine, **SMALL, progress=lambda d, t, s: seen.append((d, s)))
    assert all(v > 0 for v in counts.values()), counts
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)       # progress only grows
    assert seen[-1][1] == "analyze"
    digest = _db_digest(own_engine)
    with pytest.raises(AlreadyLoaded):
        load_sample_city(own_engine, **SMALL)
    assert _db_digest(own_engine) == digest                          # nothing half-loaded
    again = load_sample_city(own_engine, **SMALL, replace=True)
    assert again == counts
    assert _db_digest(own_engine) == digest                          # same rows, same ids
    with own_engine.connect() as conn:                               # identities move on
        next_id = conn.execute(sa.text("SELECT nextval(pg_get_serial_sequence("
                                       "'land.parcels', 'id'))")).scalar()
    assert next_id == counts["parcels"] + 1
    with own_engine.begin() as conn:            # forget the marker: the natural keys still clash
        conn.execute(sa.text("DELETE FROM meta.state"))
    with pytest.raises(AlreadyLoaded, match="natural keys"):
        load_sample_city(own_engine, **SMALL)
    assert _db_digest(own_engine) == digest


def test_bad_scales_are_refused():
    for scale in (0, -1, float("nan"), 10_000):
        with pytest.raises(InvalidParameter):
            next(iter(generate(scale=scale)))


# --- the default city ------------------------------------------------------------------

def test_every_layer_and_the_counts_are_filled(sample_city, engine):
    assert set(sample_city) == {layer.id for layer in ALL_LAYERS} | {"traffic_counts"}
    assert all(count > 0 for count in sample_city.values()), sample_city
    features = sum(v for k, v in sample_city.items() if k != "traffic_counts")
    assert 20_000 <= features <= 40_000
    assert sample_city["traffic_counts"] == COUNT_HOURS * sample_city["traffic_stations"]
    with engine.connect() as conn:
        for layer in ALL_LAYERS:
            if is_derived(layer):        # the violations: computed from the rest, not generated
                continue
            n = conn.execute(sa.select(sa.func.count()).where(_sample_filter(conn, layer.id))).scalar()
            assert n == sample_city[layer.id], layer.id


def _land(conn) -> sa.ColumnElement:
    """The land polygon as a bound geometry."""
    return sa.func.ST_GeomFromWKB(sa.literal(shapely.to_wkb(land_polygon())), 4326)


def test_every_generated_feature_lies_on_land(sample_city, engine):
    """Parcels, buildings, roads and every other generated feature: inside the city's box
    and on land (never in the sea, a river, a lake or a pond). Admin units are the real
    wards, rivers included."""
    envelope = sa.func.ST_MakeEnvelope(*WIDE_BBOX, 4326)
    with engine.connect() as conn:
        land = _land(conn)
        for layer in ALL_LAYERS:
            if layer.id == "admin_units" or is_derived(layer):
                continue
            t = layer.table
            outside = conn.execute(sa.select(sa.func.count()).where(
                _sample_filter(conn, layer.id),
                sa.or_(~sa.func.ST_Within(t.c.geom, envelope), ~sa.func.ST_Within(t.c.geom, land)))
            ).scalar()
            assert outside == 0, layer.id


def test_the_land_leaves_out_the_han_river_and_the_sea():
    land = land_polygon()
    assert land.contains(shapely.Point(108.212, 16.055))            # Hải Châu
    assert not land.contains(shapely.Point(108.2265, 16.07))        # the Hàn river
    assert not land.contains(shapely.Point(108.19, 16.11))          # Đà Nẵng bay
    assert not land.contains(shapely.Point(108.335, 16.085))        # the sea off Sơn Trà


def test_central_wards_are_denser_and_every_ward_has_parcels(sample_city, engine):
    """Parcels per km² of each new ward: the central ones (Hải Châu, Hòa Cường, Thanh Khê)
    are denser than every other ward, and every ward holds some parcels."""
    p, a = get_layer("parcels").table, get_layer("admin_units").table
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(a.c.name, sa.func.count(p.c.id),
                      sa.func.ST_Area(sa.cast(a.c.geom, Geography)) / 1e6)
            .select_from(a.outerjoin(p, sa.and_(p.c.ward_code == a.c.code, _sample_filter(conn, "parcels"))))
            .where(_sample_filter(conn, "admin_units"), a.c.valid_from == sa.func.make_date(2025, 7, 1))
            .group_by(a.c.id)).all()
    density = {name: n / km2 for name, n, km2 in rows}
    central = {"Phường Hải Châu", "Phường Hòa Cường", "Phường Thanh Khê"}
    assert len(density) == 14 and all(n > 0 for _, n, _ in rows)
    assert min(density[c] for c in central) > 5 * max(v for k, v in density.items() if k not in central)


def test_buildings_lie_in_their_parcels_and_parcels_in_their_ward(sample_city, engine):
    """Every building in its parcel but those planted across its boundary or into the
    street; every parcel in its ward."""
    b, p, a = (get_layer(x).table for x in ("buildings", "parcels", "admin_units"))
    planted = {fid for rule, fid in planted_irregularities(scale=1, seed=1)
               if rule in ("parcel_overlap", "road_right_of_way")}
    with engine.connect() as conn:
        outside = set(conn.execute(sa.select(b.c.id).select_from(b.join(p, p.c.id == b.c.parcel_id))
                                   .where(_sample_filter(conn, "buildings"),
                                          ~sa.func.ST_Within(b.c.geom, p.c.geom))).scalars())
        orphans = conn.execute(sa.select(sa.func.count()).where(
            _sample_filter(conn, "buildings"), b.c.parcel_id.is_(None))).scalar()
        wards = a.alias()
        misplaced = conn.execute(
            sa.select(sa.func.count()).select_from(p.outerjoin(wards, sa.and_(
                wards.c.code == p.c.ward_code, wards.c.valid_from == sa.func.make_date(2025, 7, 1))))
            .where(_sample_filter(conn, "parcels"),
                   sa.or_(wards.c.id.is_(None), ~sa.func.ST_Within(p.c.geom, wards.c.geom)))).scalar()
    assert planted and outside == planted
    assert (orphans, misplaced) == (0, 0)


def test_parcel_numbers_are_unique_per_ward_and_sheet(sample_city, engine):
    p = get_layer("parcels").table
    with engine.connect() as conn:
        total, distinct, uses = conn.execute(sa.select(
            sa.func.count(), sa.func.count(sa.distinct(sa.tuple_(p.c.ward_code, p.c.sheet_no, p.c.parcel_no))),
            sa.func.array_agg(sa.distinct(p.c.land_use))).where(_sample_filter(conn, "parcels"))).one()
        top = conn.execute(sa.select(p.c.land_use).where(_sample_filter(conn, "parcels"))
                           .group_by(p.c.land_use).order_by(sa.func.count().desc()).limit(1)).scalar()
    assert total == distinct == sample_city["parcels"]
    assert {"ODT", "TMD", "DGD", "CLN"} <= set(uses) and top == "ODT"


def test_admin_units_are_the_real_wards_of_both_periods(sample_city, engine):
    a = get_layer("admin_units").table
    with engine.connect() as conn:
        rows = conn.execute(sa.select(a.c.code, a.c.name, a.c.name_en, a.c.level, a.c.parent_code,
                                      a.c.valid_from, a.c.valid_to, sa.func.ST_AsBinary(a.c.geom))
                            .where(_sample_filter(conn, "admin_units"))).all()
    districts = {r.name for r in rows if r.level == "district"}
    assert districts == {"Quận Hải Châu", "Quận Thanh Khê", "Quận Sơn Trà", "Quận Ngũ Hành Sơn",
                         "Quận Liên Chiểu", "Quận Cẩm Lệ", "Huyện Hòa Vang"}
    old = [r for r in rows if r.level != "city" and str(r.valid_to) == "2025-07-01"]
    new = [r for r in rows if str(r.valid_from) == "2025-07-01"]
    assert len(old) == 7 + 56 and len(new) == 14 and all(r.valid_to is None for r in new)
    # official codes: GSO before the reform, Công văn 1027/CTK-CSCL after it
    assert {(r.code, r.name) for r in old} >= {("20236", "Phường Hải Châu I"), ("492", "Quận Hải Châu"),
                                               ("20194", "Phường Hòa Hiệp Bắc"), ("20332", "Xã Hòa Khương")}
    assert {(r.code, r.name) for r in new} >= {("20242", "Phường Hải Châu"), ("20194", "Phường Hải Vân"),
                                               ("20320", "Xã Hòa Vang")}
    assert all(r.parent_code == "492" for r in old if r.name in ("Phường Hải Châu I", "Phường Nam Dương"))
    assert all(r.name_en.isascii() for r in rows)
    # the boundaries are the shipped real ones
    real = {w.code: w.geom for w in real_city().new_wards}
    for r in new:
        geom = shapely.from_wkb(r[-1])
        assert abs(geom.area - real[r.code].area) < 1e-3 * real[r.code].area, r.name


def test_road_hierarchy_and_traffic(sample_city, engine):
    r, i, c, s = (get_layer(x).table for x in ("roads", "intersections", "cameras", "traffic_stations"))
    with engine.connect() as conn:
        classes = dict(conn.execute(sa.select(r.c.road_class, sa.func.count())
                                    .where(_sample_filter(conn, "roads")).group_by(r.c.road_class)).all())
        names = set(conn.execute(sa.select(r.c.name).where(r.c.road_class == "arterial")).scalars())
        signalised = conn.execute(sa.select(sa.func.count()).where(i.c.signalised)).scalar()
        unsited = conn.execute(sa.select(sa.func.count()).select_from(s.join(r, r.c.id == s.c.road_id))
                               .where(r.c.road_class.not_in(("arterial", "primary")))).scalar()
        shares = conn.execute(sa.text("SELECT sum(motorbikes)::float / sum(motorbikes + cars + trucks + buses)"
                                      " FROM traffic.traffic_counts")).scalar()
        camera_nodes = conn.execute(sa.select(sa.func.count()).select_from(c.join(i, i.c.id == c.c.intersection_id))
                                    .where(c.c.camera_type == "traffic", ~i.c.signalised)).scalar()
    assert set(classes) == {"arterial", "primary", "secondary", "local", "alley"}
    assert classes["local"] > classes["arterial"]
    assert {"Đường Hùng Vương", "Đường Trần Phú"} <= names
    assert signalised > 0 and unsited == 0 and camera_nodes == 0
    assert shares > 0.7                                     # motorbikes dominate


def test_deliberate_irregularities_exist(sample_city, engine):
    with engine.connect() as conn:
        first, last = sample_state(conn)["ids"]["buildings"]
        over, over_permit = conn.execute(sa.text(
            "SELECT count(*), count(*) FILTER (WHERE p.permitted_floors < b.floors) "
            "FROM construction.buildings b JOIN land.zoning z "
            "ON ST_Contains(z.geom, ST_PointOnSurface(b.geom)) "
            "LEFT JOIN construction.permits p ON p.building_id = b.id "
            "WHERE b.floors > z.max_floors AND b.id BETWEEN :f AND :l"), {"f": first, "l": last}).one()
        no_permit = conn.execute(sa.text(
            "SELECT count(*) FROM construction.buildings b WHERE b.id BETWEEN :f AND :l AND NOT EXISTS "
            "(SELECT 1 FROM construction.permits p WHERE p.building_id = b.id)"),
            {"f": first, "l": last}).scalar()
        permit_no = conn.execute(sa.text("SELECT permit_no FROM construction.permits LIMIT 1")).scalar()
    assert 0 < over < 0.05 * sample_city["buildings"]
    assert over_permit > 0
    assert 0 < no_permit < 0.5 * sample_city["buildings"]
    assert permit_no.endswith("/GPXD-SXD")


# --- the raw file with errors, and the command ----------------------------------------

def test_irregular_file_has_the_problems_it_claims(tmp_path):
    info = write_irregular_file(tmp_path / "thua_dat_loi.geojson")
    features = json.loads((tmp_path / "thua_dat_loi.geojson").read_text(encoding="utf-8"))["features"]
    assert info["features"] == len(features) and info["valid"] == 8
    geoms = [shapely.geometry.shape(f["geometry"]) for f in features]
    assert all(not geoms[k].is_valid for k in info["invalid_geometry"]) and len(info["invalid_geometry"]) == 2
    assert all(geoms[k].is_empty for k in info["empty_geometry"])
    assert all(geoms[k].geom_type == "Point" for k in info["wrong_geometry_type"])
    keys = [(f["properties"]["ward_code"], f["properties"]["sheet_no"], f["properties"]["parcel_no"])
            for f in features]
    dup = info["duplicate_key"][0]
    assert keys.count(keys[dup]) == 2
    assert all("land_use" not in features[k]["properties"] for k in info["missing_attribute"])
    clean = set(range(len(features))) - {k for key in ("invalid_geometry", "empty_geometry",
                                                        "wrong_geometry_type", "duplicate_key",
                                                        "missing_attribute") for k in info[key]}
    assert all(geoms[k].is_valid and geoms[k].geom_type == "Polygon" for k in clean)
    assert all(shapely.box(*CORE_BBOX).contains(geoms[k]) for k in clean)


def test_sample_command_help_and_bad_options(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["sample", "--help"])
    assert result.exit_code == 0 and "--scale" in result.output and "--irregular-file" in result.output
    assert runner.invoke(main, ["sample", "--scale", "0"]).exit_code == 2
    assert runner.invoke(main, ["sample", "--file-only"]).exit_code == 2
    target = tmp_path / "raw.geojson"
    result = runner.invoke(main, ["sample", "--file-only", "--irregular-file", str(target)])
    assert result.exit_code == 0 and target.exists() and "14 features" in result.output


def test_ten_million_city_is_planned_dense_and_deterministic():
    """Scale 350 (~10 million features) fits on Da Nang's land by growing denser, not
    wider: planned (not loaded) in seconds, the same for a seed, and a sample of its
    chunks extrapolates to ~10 million features."""
    first, again = plan_city(350, 1), plan_city(350, 1)
    assert first.size == again.size and (first.ci == again.ci).all() and (first.cj == again.cj).all()
    assert (first.attrs["dense"] == again.attrs["dense"]).all()
    cells, dense = city_size(350)
    assert first.size == cells and int(first.attrs["dense"].sum()) == dense
    assert 55_000 < cells < 77_000 and dense > cells / 3       # ~77,000 cells fit on the land
    assert city_size(35) == (round(35 * 460), 0)               # the million city is unchanged
    units = assign_units(first)
    zoning_batch(first)
    net = build_network(first)
    assert net.seg_id.size > first.size * 2                  # two more kiệt per dense block
    codes = [u[0] for u in units["new"]]
    by_code = dict(zip(codes, [u[1] for u in units["new"]]))
    parts = chunks(first)
    picked = range(0, len(parts), max(1, len(parts) // 12))
    rows = {"parcels": 0, "buildings": 0, "permits": 0}
    for n in picked:
        parcels = build_parcels(first, parts[n], n, 0, codes, list(by_code.values()))
        buildings, permits = buildings_and_permits(first, parcels, n, 0, 0, by_code)
        for batch in (parcels.batch, buildings, permits):
            rows[batch.table] += len(batch.rows)
    share = sum(parts[n].size for n in picked) / first.size
    total = sum(rows.values()) / share
    assert 8_500_000 < total < 12_000_000, total
    assert rows["buildings"] > 0.8 * rows["parcels"]
