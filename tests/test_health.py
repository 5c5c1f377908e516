"""/healthz and the landing page, with the database up and down."""
from __future__ import annotations

from dataclasses import replace

from webmap.app import create_app


def test_healthz_ok(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ok"
    assert body["postgis"].startswith("3")


def test_healthz_503_json_when_database_down(settings, tmp_path):
    down = replace(settings, database_url=f"postgresql+psycopg://gisdb@/nowhere?host={tmp_path}&port=1",
                   web_database_url=None)
    app = create_app({"TESTING": True, "SETTINGS": down})
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["code"] == "DatabaseUnavailable"
    text = resp.get_data(as_text=True)
    assert "SELECT" not in text and "Traceback" not in text and "psycopg" not in text


def test_landing_lists_layers_by_group(client):
    resp = client.get("/?f=json")
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    for layer_id in ("parcels", "buildings", "roads"):
        assert layer_id in text


def test_vector_tiles_503_json_when_database_down(settings, tmp_path):
    """The tile fast path (the pool's own connection) and the filtered path through
    SQLAlchemy both answer a JSON 503, without the connection string, when the database
    cannot be reached."""
    down = replace(settings, database_url=f"postgresql+psycopg://gisdb@/nowhere?host={tmp_path}&port=1",
                   web_database_url=None, data_dir=tmp_path)
    client = create_app({"TESTING": True, "SETTINGS": down}).test_client()
    for url in ("/tiles/buildings/16/52460/29800.mvt",
                "/collections/buildings/tiles/WebMercatorQuad/16/29800/52460",
                "/tiles/buildings/16/52460/29800.mvt?filter=floors>2"):
        resp = client.get(url)
        assert resp.status_code == 503, url
        assert resp.get_json()["code"] == "DatabaseUnavailable", url
        assert str(tmp_path) not in resp.get_data(as_text=True), url
