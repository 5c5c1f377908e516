"""Application factory."""
from __future__ import annotations

from flask import Flask

from gisdb.engine import make_engine
from gisdb.settings import Settings

from . import cors
from .errors import install_error_handlers
from .services import Services


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app. `test_config` may hold `SETTINGS` (a gisdb Settings) and Flask
    config keys; otherwise settings come from the environment."""
    app = Flask(__name__)
    app.config.update(JSON_SORT_KEYS=False)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    if test_config:
        app.config.update(test_config)
    # The web runs as the read role in read-only sessions (gisdb.roles), never the owner.
    settings: Settings = (app.config.get("SETTINGS") or Settings.from_env()).for_web()
    engine = make_engine(settings, application_name="gisdb-web")
    app.extensions["gisdb"] = Services(settings=settings, engine=engine)
    install_error_handlers(app)
    cors.install(app)

    from . import health, ogc_views
    app.register_blueprint(health.bp)
    app.register_blueprint(ogc_views.bp)
    from . import tile_fastpath, tile_views
    app.register_blueprint(tile_views.bp)
    tile_fastpath.install(app)
    from . import raster_tile_views
    app.register_blueprint(raster_tile_views.bp)
    from . import map_page, vendor
    app.register_blueprint(map_page.bp)
    app.register_blueprint(vendor.bp)
    from . import queries
    app.register_blueprint(queries.bp)
    return app
