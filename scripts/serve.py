"""`gisdb serve`: prepare the database and serve the web application."""
from __future__ import annotations

import os
import shutil
import sys

import click

from layers.bootstrap import prepare

from .context import settings_from, user_errors


@click.command("serve")
@click.option("--port", type=int, help="Port (default GISDB_PORT or 5000).")
@click.option("--host", help="Address to bind (default GISDB_HOST or 127.0.0.1).")
@click.option("--workers", type=int, default=4, show_default=True, help="Worker processes.")
@click.option("--threads", type=int, default=4, show_default=True,
              help="Threads per worker process (gunicorn gthread workers).")
@click.option("--access-log/--no-access-log", default=True, show_default=True,
              help="Log every request to standard output.")
@click.option("--prepare/--no-prepare", "do_prepare", default=True, show_default=True,
              help="Start the database, migrate and load the sample city on first run.")
@click.option("--dev", is_flag=True, help="Flask's development server with reload.")
@click.pass_context
@user_errors
def serve_command(ctx, port, host, workers, threads, access_log, do_prepare, dev):
    """Serve the OGC API, tiles and the map until Ctrl-C."""
    settings = settings_from(ctx)
    port = port or settings.port
    host = host or settings.host
    if do_prepare:
        click.echo(prepare(settings, say=click.echo))
    click.echo(f"Serving on http://{host}:{port}/  (map: http://{host}:{port}/map)")
    if dev:
        from webmap.app import create_app
        create_app().run(host=host, port=port, debug=True)
        return
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or shutil.which("gunicorn")
    if not gunicorn:
        raise click.ClickException("gunicorn is not installed in this environment")
    logging = ["--access-logfile", "-"] if access_log else []
    os.execv(gunicorn, [gunicorn, "--bind", f"{host}:{port}", "--workers", str(workers),
                        "--worker-class", "gthread", "--threads", str(threads),
                        "--timeout", "120", "--graceful-timeout", "5", *logging,
                        "webmap.app:create_app()"])
