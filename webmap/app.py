"""Application factory."""
from __future__ import annotations

from flask import Flask

from gisdb import deadline
from gisdb.engine import make_engine
from gisdb.replicas.router import ReadRouter
from gisdb.replicas.server_log import log_server_changes
from gisdb.settings import Settings

from . import authz, body_limit, cors, read_routing, request_budget, request_checks
from .errors import install_error_handlers
from .services import Services


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app. `test_config` may hold `SETTINGS` (a gisdb Settings) and Flask
    config keys; otherwise settings come from the environment."""
    app = Flask(__name__, static_folder=None)      # /static is webmap.vendor_views'
    app.config.update(JSON_SORT_KEYS=False)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    if test_config:
        app.config.update(test_config)
    # The web runs as the read role in read-only sessions (gisdb.roles), never the owner.
    settings: Settings = (app.config.get("SETTINGS") or Settings.from_env()).for_web()
    engine = make_engine(settings, application_name="gisdb-web")
    deadline.bound_statements(engine, settings.statement_timeout_ms)
    log_server_changes(engine, "the web's primary pool")
    app.extensions["gisdb"] = Services(settings=settings, primary=engine,
                                       router=ReadRouter.from_settings(settings, engine))
    install_error_handlers(app)
    cors.install(app)
    authz.install(app)

    from . import health, ogc_views
    app.register_blueprint(health.bp)
    app.register_blueprint(ogc_views.bp)
    from . import png_tile_views, raster_views, tile_fastpath, vector_tile_views
    app.register_blueprint(vector_tile_views.bp)
    app.register_blueprint(png_tile_views.bp)
    app.register_blueprint(raster_views.bp)
    from . import map_page, vendor_views
    app.register_blueprint(map_page.bp)
    app.register_blueprint(vendor_views.bp)
    from . import auth_views, queries, write_views
    app.register_blueprint(queries.bp)
    app.register_blueprint(auth_views.bp)
    from . import timeline_views
    app.register_blueprint(timeline_views.bp)
    app.register_blueprint(write_views.bp)
    from . import traffic_views
    app.register_blueprint(traffic_views.bp)
    from . import changes_views
    app.register_blueprint(changes_views.bp)
    from . import processes_views
    app.register_blueprint(processes_views.bp)
    from . import report_views
    app.register_blueprint(report_views.bp)
    _guard(app, settings)
    tile_fastpath.install(app)      # plain vector tiles skip the guards
    read_routing.install(app, app.extensions["gisdb"].router)   # outermost: picks the database
    return app


def _guard(app: Flask, settings: Settings) -> None:
    """The WSGI middlewares in front of Flask (the outermost runs first): request checks
    (Host, NUL), the body limit, the request budget (deadline, heavy slots). Vector
    tiles without a query string (webmap.tile_fastpath) are answered before them: no
    links, no body, one statement under the statement timeout."""
    heavy = request_budget.HeavySlots(settings.heavy_requests)
    app.extensions["gisdb.heavy"] = heavy
    app.extensions["gisdb.heavy.png"] = request_budget.HeavySlots(settings.heavy_requests)
    request_budget.install(app, settings.request_timeout_ms, heavy)
    body_limit.install(app, settings.max_body_bytes)
    request_checks.install(app, settings)
