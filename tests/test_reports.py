"""Ward and district reports (`layers.planning.reports`, `/reports/...`, `gisdb report`)
on the sample city: the JSON figures against independent SQL, the PDF rendered by
poppler (pages with pixels, the ward's name with its diacritics in the text), the XLSX
read back by openpyxl, the printable page's charts drawn by Chart.js in Chromium, the
violations section from a `planning.violations` table, and hostile requests."""
from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from PIL import Image

from clients import require
from layers.planning.reports import district_report, ward_report
from map_session import MapSession
from served_app import in_thread

WARD = "20257"                      # Phường Hòa Cường, among the densest wards of the sample city
WARD_NAME = "Phường Hòa Cường"
GISDB = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "gisdb"
UNIT = ("SELECT geom FROM land.admin_units WHERE code = :code AND level IN ('ward', 'commune') "
        "AND valid_to IS NULL")


@pytest.fixture(scope="module")
def report(engine, sample_city) -> dict:
    with engine.connect() as conn:
        return ward_report(conn, WARD)


def test_land_use_and_buildings_match_independent_sql(report, engine):
    with engine.connect() as conn:
        land = {r[0]: (r[1], float(r[2])) for r in conn.execute(sa.text(
            f"SELECT p.land_use, count(*), sum(ST_Area(p.geom::geography)) FROM land.parcels p, ({UNIT}) u "
            "WHERE ST_Contains(u.geom, ST_PointOnSurface(p.geom)) GROUP BY 1"), {"code": WARD})}
        count, footprint, area_ha = conn.execute(sa.text(
            f"SELECT count(b.*), sum(ST_Area(b.geom::geography)), max(ST_Area(u.geom::geography)) / 1e4 "
            f"FROM ({UNIT}) u LEFT JOIN construction.buildings b ON ST_Contains(u.geom, ST_PointOnSurface(b.geom))"),
            {"code": WARD}).one()
    assert report["unit"]["name"] == WARD_NAME
    assert report["unit"]["area_ha"] == pytest.approx(area_ha, rel=0.01)
    assert {r["land_use"]: r["parcels"] for r in report["land_use"]} == {k: v[0] for k, v in land.items()}
    for row in report["land_use"]:           # EPSG:5899 areas vs the spheroid: within 1%
        assert row["area_m2"] == pytest.approx(land[row["land_use"]][1], rel=0.01)
        assert row["label_vi"] and row["label_en"]
    assert sum(r["share"] for r in report["land_use"]) == pytest.approx(1.0, abs=0.01)
    b = report["buildings"]
    assert b["count"] == count > 1000
    assert b["footprint_m2"] == pytest.approx(float(footprint), rel=0.01)
    assert b["per_ha"] == pytest.approx(count / area_ha, rel=0.01)
    assert b["coverage"] == pytest.approx(float(footprint) / (area_ha * 1e4), rel=0.01)
    assert sum(r["count"] for r in b["floors"]) == count == sum(r["count"] for r in b["height"])


def test_permits_and_incidents_match_independent_sql(report, engine):
    with engine.connect() as conn:
        months = dict(conn.execute(sa.text(
            f"SELECT to_char(date_trunc('month', p.issued_on), 'YYYY-MM'), count(*) FROM construction.permits p, "
            f"({UNIT}) u WHERE ST_Covers(u.geom, p.geom) GROUP BY 1"), {"code": WARD}).all())
        incidents, top = conn.execute(sa.text(
            f"SELECT count(*), (SELECT max(n) FROM (SELECT count(*) n FROM traffic.incidents i2, ({UNIT}) u2 "
            "WHERE ST_Covers(u2.geom, i2.geom) AND i2.road_id IS NOT NULL GROUP BY i2.road_id) x) "
            f"FROM traffic.incidents i, ({UNIT}) u WHERE ST_Covers(u.geom, i.geom)"), {"code": WARD}).one()
        km = conn.execute(sa.text(f"SELECT sum(ST_Length(ST_Intersection(r.geom, u.geom)::geography)) / 1000 "
                                  f"FROM traffic.roads r, ({UNIT}) u WHERE ST_Intersects(r.geom, u.geom)"),
                          {"code": WARD}).scalar_one()
    assert {r["month"]: r["count"] for r in report["permits_per_month"]} == months
    assert sum(months.values()) > 100
    i = report["incidents"]
    assert i["count"] == incidents > 0
    assert i["road_km"] == pytest.approx(float(km), rel=0.01)
    assert i["per_km"] == pytest.approx(incidents / float(km), rel=0.01)
    assert i["hotspots"] and i["hotspots"][0]["incidents"] == top
    assert [h["incidents"] for h in i["hotspots"]] == sorted((h["incidents"] for h in i["hotspots"]), reverse=True)


def test_a_district_report(engine, sample_city):
    with engine.connect() as conn:
        code = conn.execute(sa.text("SELECT code FROM land.admin_units WHERE level = 'district' "
                                    "AND name = 'Quận Hải Châu'")).scalar_one()
        doc = district_report(conn, code)
    assert doc["unit"]["level"] == "district" and doc["unit"]["valid_to"] == "2025-07-01"
    assert doc["buildings"]["count"] > 1000


def test_the_pdf_opens_renders_and_holds_the_ward_name(client, tmp_path):
    require("pdftoppm", "pdftotext")
    r = client.get(f"/reports/ward/{WARD}?f=pdf")
    assert r.status_code == 200 and r.content_type == "application/pdf"
    assert f'report-ward-{WARD}.pdf' in r.headers["Content-Disposition"]
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(r.data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert WARD_NAME in text and "Đất ở tại đô thị" in text
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2
    for page in pages:
        grey = Image.open(page).convert("L")
        dark = sum(grey.histogram()[:200])
        assert dark > 500, f"{page.name} is blank"
    coloured = Image.open(pages[0]).convert("RGB").getcolors(1_000_000)
    assert len(coloured) > 50                     # the charts' colours, not black text alone


def test_the_xlsx_and_csv_hold_the_figures(client, report):
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/reports/ward/{WARD}?f=xlsx").data))
    assert {"unit", "land_use", "floors", "height", "permits", "hotspots", "violations"} <= set(book.sheetnames)
    rows = list(book["land_use"].iter_rows(min_row=3, values_only=True))
    assert [(r[0], r[3], r[4]) for r in rows] == [(x["land_use"], x["parcels"], x["area_m2"]) for x in report["land_use"]]
    unit = dict(book["unit"].iter_rows(min_row=3, values_only=True))
    assert unit["name"] == WARD_NAME and unit["buildings"] == report["buildings"]["count"]
    permits = list(book["permits"].iter_rows(min_row=3, values_only=True))
    assert sum(r[1] for r in permits) == sum(r["count"] for r in report["permits_per_month"])
    text = client.get(f"/reports/ward/{WARD}?f=csv").data.decode("utf-8-sig")
    blocks = text.split("\n\n")
    assert len(blocks) == 7 and blocks[1].startswith("# Cơ cấu sử dụng đất / Land use")
    land = list(csv.reader(io.StringIO(blocks[1])))
    assert land[1] == ["land_use", "label_vi", "label_en", "parcels", "area_m2", "share"]
    assert len(land) - 2 == len(report["land_use"])


def test_json_answer_and_its_etag(client, report):
    r = client.get(f"/reports/ward/{WARD}")
    doc = r.get_json()
    assert doc["land_use"] == report["land_use"] and doc["buildings"] == report["buildings"]
    assert client.get(f"/reports/ward/{WARD}", headers={"If-None-Match": r.headers["ETag"]}).status_code == 304


@pytest.mark.parametrize("url", [
    "/reports/ward/nope", "/reports/ward/99999", "/reports/city/48", "/reports/district/20257",
    f"/reports/ward/{WARD}?f=docx", f"/reports/ward/{WARD}?x=1", "/reports/ward/%27%3B%20DROP%20TABLE%20x--",
    "/reports/ward/" + "9" * 100, "/reports/ward/%C4%90", "/reports/ward/%00",
])
def test_hostile_report_requests_are_json_4xx(client, url):
    r = client.get(url)
    assert 400 <= r.status_code < 500, (url, r.status_code)
    assert set(r.get_json()) == {"code", "description"}


def test_the_printable_page_draws_its_charts(browser, app):
    with in_thread(app) as host:
        s = MapSession(browser, f"http://{host}", viewport={"width": 900, "height": 1200})
        try:
            s.page.goto(f"http://{host}/reports/ward/{WARD}?f=html", wait_until="load")
            s.page.wait_for_selector("body[data-charts=drawn]", timeout=20_000)
            painted = s.js("""() => Array.from(document.querySelectorAll('canvas')).map(c => {
                const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let n = 0; for (let i = 3; i < px.length; i += 4) { if (px[i] > 0) { n++; } }
                return [c.id, Chart.getChart(c).config.type, n]; })""")
            assert [(c, t) for c, t, _ in painted] == [("chart-land-use", "pie"), ("chart-floors", "bar"),
                                                        ("chart-permits", "line")]
            assert all(n > 2000 for _, _, n in painted), painted
            assert WARD_NAME in s.page.locator("h1").inner_text()
            assert not s.errors and not s.external
            s.page.emulate_media(media="print")
            assert s.page.locator("nav").is_hidden()
            pdf = s.page.pdf(format="A4")
            assert pdf.startswith(b"%PDF")
        finally:
            s.context.close()


def test_the_command_writes_the_report(settings, sample_city, tmp_path):
    require("pdftotext")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GISDB_DATABASE_URL": settings.database_url,
           "GISDB_DATA_DIR": str(settings.data_dir)}
    for out in ("report.pdf", "report.xlsx"):
        done = subprocess.run([str(GISDB), "report", "ward", WARD, "--out", out], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    text = subprocess.run(["pdftotext", str(tmp_path / "report.pdf"), "-"], capture_output=True, text=True).stdout
    assert WARD_NAME in text
    assert openpyxl.load_workbook(tmp_path / "report.xlsx")["unit"]["B5"].value is not None
    bad = subprocess.run([str(GISDB), "report", "ward", "00000"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 1 and "NotFound" in bad.stderr


def test_violations_per_rule_are_read_from_the_violations_layer(own_database):
    _, engine = own_database
    ward = "SRID=4326;MULTIPOLYGON(((108.20 16.04,108.22 16.04,108.22 16.06,108.20 16.06,108.20 16.04)))"
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO land.admin_units (code, name, level, valid_from, geom) "
                             "VALUES ('T0001', 'Phường Thử', 'ward', '2025-07-01', :g)"), {"g": ward})
    with engine.begin() as conn:
        rows = [("zoning_floors", "high", 108.21, 16.05), ("zoning_floors", "high", 108.211, 16.051),
                ("no_permit", "medium", 108.205, 16.045), ("no_permit", "medium", 108.30, 16.10)]
        for n, (rule, severity, x, y) in enumerate(rows):
            conn.execute(sa.text(
                "INSERT INTO planning.violations (rule_id, target_layer, feature_id, severity, "
                "first_seen, last_seen, geom) VALUES (:r, 'buildings', :n, :s, now(), now(), "
                "ST_Buffer(ST_SetSRID(ST_MakePoint(:x, :y), 4326), 0.0001))"),
                {"r": rule, "n": n + 1, "s": severity, "x": x, "y": y})
    with engine.connect() as conn:
        section = ward_report(conn, "T0001")["violations"]
    assert section["available"] and section["total"] == 3
    assert [(r["rule_id"], r["count"]) for r in section["rules"]] == [("zoning_floors", 2), ("no_permit", 1)]
