"""`webmap.authz.require` and the write engine: with GISDB_WRITES off every edit is a 403
`WritesDisabled` (even with a credential) and no write engine is built; on, an edit needs
a credential (401) with the edit role on every layer it names (403), and the write engine
connects as the write role."""
from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa
from flask import jsonify

from access_fixtures import make_key
from gisdb.errors import WritesDisabled
from gisdb.roles import WRITE_ROLE


def _app(settings, writes: bool):
    """An app with a test view that requires `role` on the layers in its path."""
    from webmap.app import create_app
    from webmap.authz import require
    from webmap.services import services
    app = create_app({"TESTING": True, "SETTINGS": replace(settings, writes=writes)})

    @app.post("/test-require/<layers>/<role>")
    def check(layers, role):
        principal = require(layers.split(","), role)
        with services().write_engine().connect() as conn:
            user = conn.execute(sa.text("SELECT current_user")).scalar()
        return jsonify({"name": principal.name, "db_user": user})
    return app


@pytest.fixture(scope="module")
def keys(engine, sample_city):
    return {"editor": make_key(engine, "req_editor", "edit", "land"),
            "reader": make_key(engine, "req_reader", "read", "*"),
            "admin": make_key(engine, "req_admin", "admin", "parcels")}


def _post(app, path, key=None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return app.test_client().post(path, headers=headers)


def test_writes_off_refuses_every_edit(settings, keys):
    app = _app(settings, writes=False)
    for key in (None, keys["editor"], keys["admin"]):
        resp = _post(app, "/test-require/parcels/edit", key)
        assert resp.status_code == 403 and resp.json["code"] == "WritesDisabled"
    with app.app_context():
        from webmap.services import services
        with pytest.raises(WritesDisabled):
            services().write_engine()
        assert services()._write_engine is None


def test_writes_on_needs_the_role_on_every_layer(settings, keys):
    app = _app(settings, writes=True)
    anonymous = _post(app, "/test-require/parcels/edit")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == 'Bearer realm="gisdb"'
    reader = _post(app, "/test-require/parcels/edit", keys["reader"])
    assert reader.status_code == 403 and reader.json["code"] == "Forbidden"
    mixed = _post(app, "/test-require/parcels,buildings/edit", keys["editor"])
    assert mixed.status_code == 403 and "buildings" in mixed.json["description"]
    ok = _post(app, "/test-require/parcels,zoning/edit", keys["editor"])
    assert ok.status_code == 200 and ok.json == {"name": "req_editor", "db_user": WRITE_ROLE}
    assert _post(app, "/test-require/parcels/admin", keys["editor"]).status_code == 403
    assert _post(app, "/test-require/parcels/edit", keys["admin"]).status_code == 200
    me = app.test_client().get("/auth/me", headers={"Authorization": f"Bearer {keys['admin']}"})
    assert me.json["writes"] is True


def test_credentials_stay_out_of_logs(client, keys, caplog):
    caplog.set_level("DEBUG")
    bad = keys["reader"][:-4] + "AAAA"
    for key in (keys["reader"], bad):
        client.get("/collections/parcels/items?limit=1", headers={"Authorization": f"Bearer {key}"})
        client.get("/auth/me", headers={"Authorization": f"Bearer {key}"})
    assert keys["reader"] not in caplog.text and bad not in caplog.text
    assert keys["reader"][4:14] not in caplog.text
