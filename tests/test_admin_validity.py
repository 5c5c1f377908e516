"""`datetime` on a layer with a validity interval (admin units: `valid_from`, exclusive
`valid_to`): the units valid at that instant or overlapping that interval, the same in
`/items`, in vector tiles and in `/query/identify?at_date=`, on the sample city's real
wards (the old ones end when the new ones start, 1 July 2025)."""
from __future__ import annotations

import gzip

import mapbox_vector_tile
import pytest

from tiles.grid import lonlat_to_tile

DA_NANG = "107.8,15.9,108.35,16.22"      # the sample's wards (not other tests' rows)
HAI_CHAU = (108.2165, 16.0595)           # in Phường Nam Dương before, Phường Hải Châu after


def units(client, datetime: str) -> dict[str, set[str]]:
    """Names of the units per level that `datetime` selects."""
    resp = client.get(f"/collections/admin_units/items?limit=1000&bbox={DA_NANG}"
                      f"&properties=name,level&datetime={datetime}")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    out: dict[str, set[str]] = {}
    for f in resp.get_json()["features"]:
        out.setdefault(f["properties"]["level"], set()).add(f["properties"]["name"])
    return out


def test_an_instant_before_the_reform_gives_the_old_units(client):
    before = units(client, "2024-01-01")
    assert len(before["district"]) == 7 and "Quận Hải Châu" in before["district"]
    assert len(before["ward"] | before["commune"]) == 56 and "Phường Hải Châu I" in before["ward"]
    assert before["city"] == {"Thành phố Đà Nẵng"}


def test_the_last_day_is_old_the_first_day_new(client):
    last = units(client, "2025-06-30")
    assert len(last["district"]) == 7 and "Phường Thạch Thang" in last["ward"]
    assert "Phường Hải Châu" not in last["ward"]
    first = units(client, "2025-07-01")
    assert "district" not in first and len(first["ward"] | first["commune"]) == 14
    assert "Phường Hải Châu" in first["ward"] and "Phường Hải Châu I" not in first["ward"]
    assert units(client, "2025-06-30T23:59:59Z") == last        # a timestamp: the same day
    assert units(client, "2025-07-01T00:00:00Z") == first


def test_an_interval_gives_every_unit_it_overlaps(client):
    both = units(client, "2025-06-01/2025-07-31")
    assert {"Phường Hải Châu I", "Phường Hải Châu"} <= both["ward"] and len(both["district"]) == 7
    assert units(client, "../2025-06-30") == units(client, "1990-01-01/2025-06-30")
    assert "district" not in units(client, "2026-01-01/..")
    assert units(client, "1990-01-01/1990-12-31") == {}           # before the city existed


@pytest.mark.parametrize("day, here", [
    ("2024-01-01", {"Thành phố Đà Nẵng", "Quận Hải Châu", "Phường Nam Dương"}),
    ("2025-06-30", {"Thành phố Đà Nẵng", "Quận Hải Châu", "Phường Nam Dương"}),
    ("2025-07-01", {"Thành phố Đà Nẵng", "Phường Hải Châu"})])
def test_items_tiles_and_identify_agree(client, day, here):
    expected = {name for names in units(client, day).values() for name in names}
    x, y = lonlat_to_tile(*HAI_CHAU, 12)
    resp = client.get(f"/tiles/admin_units/12/{x}/{y}.mvt?datetime={day}")
    body = resp.get_data()
    if resp.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    in_tile = {f["properties"]["name"] for f in mapbox_vector_tile.decode(body)["admin_units"]["features"]}
    assert in_tile and in_tile <= expected
    ident = client.get(f"/query/identify?lon={HAI_CHAU[0]}&lat={HAI_CHAU[1]}&layers=admin_units&at_date={day}")
    names = {f["properties"]["name"] for f in ident.get_json()["features"]}
    assert names == here and names <= expected and names <= in_tile


def test_a_bad_datetime_is_a_clear_400(client):
    resp = client.get("/collections/admin_units/items?datetime=2025-13-01")
    assert resp.status_code == 400 and "datetime" in resp.get_json()["description"]
