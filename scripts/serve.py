"""`gisdb serve`: prepare the database and serve the web application.

The HTTP server is Granian (HTTP/1.1 and keep-alive in Rust, the WSGI app in Python):
on the 2-core benchmark machine it served uncached z16 tiles about 20% faster than
gunicorn's threaded workers (bench/tiles_bench.py), because parsing and writing HTTP no
longer take Python time from the workers. Each worker process runs `--threads` blocking
threads; a crashed worker is started again."""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

import click

from layers.bootstrap import prepare
from tiles.overviews import refresh_stale_overviews

from .context import settings_from, user_errors

# Granian's access-log atoms: the query string is logged apart from the path (it carries
# the filters, bbox and paging that explain a slow request).
ACCESS_LOG_FORMAT = '[%(time)s] %(addr)s "%(method)s %(path)s" "%(query_string)s" %(status)d %(dt_ms).1f ms'


@click.command("serve")
@click.option("--port", type=int, help="Port (default GISDB_PORT or 5000).")
@click.option("--host", help="Address to bind (default GISDB_HOST or 127.0.0.1).")
@click.option("--workers", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Worker processes.")
@click.option("--threads", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Threads per worker process: requests each worker serves at once.")
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
        click.echo(refresh_stale_overviews(settings))
    click.echo(f"Serving on http://{host}:{port}/  (map: http://{host}:{port}/map)")
    if host in ("0.0.0.0", "::") and not (settings.public_url or settings.trusted_hosts):
        click.echo("Only localhost is trusted as Host: set GISDB_PUBLIC_URL or "
                   "GISDB_TRUSTED_HOSTS for the names clients use (others get 400).")
    if dev:
        from webmap.app import create_app
        create_app().run(host=host, port=port, debug=True)
        return
    raise SystemExit(run_server(server_command(host, port, workers, threads, access_log,
                                               streams=settings.max_streams),
                                server_env(host, port, threads)))


def server_env(host: str, port: int, threads: int) -> dict:
    """The workers' environment: where they listen (their own Host is trusted) and, unless
    set, heavy request slots one below the thread count (one thread stays for light
    requests)."""
    env = dict(os.environ, GISDB_HOST=host, GISDB_PORT=str(port))
    env.setdefault("GISDB_HEAVY_REQUESTS", str(max(1, threads - 1)))
    return env


def _die_with_parent() -> None:
    """In the child: SIGTERM it if `gisdb serve` itself dies (even by SIGKILL)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)     # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_server(command: list[str], env: dict | None = None) -> int:
    """Run Granian in its own session and hand Ctrl-C / SIGTERM to its main process only.

    A terminal's Ctrl-C signals the whole foreground process group; Granian's workers,
    signalled at once with their main process, often miss their graceful stop and are
    killed after the 5 s kill timeout. Signalled through their main process they nearly
    always stop at once (the rare worker that does not is still killed after 5 s)."""
    server = subprocess.Popen(command, start_new_session=True, preexec_fn=_die_with_parent,
                              env=env)

    def forward(_signum, _frame) -> None:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    return server.wait()


def server_command(host: str, port: int, workers: int, threads: int, access_log: bool, *,
                   streams: int = 0) -> list[str]:
    """The Granian command line serving `webmap.app:create_app()` (run with this Python,
    so the virtualenv's Granian and packages are used whatever PATH says). Each worker
    gets `streams` threads besides `threads`: a live change stream (GISDB_MAX_STREAMS per
    process) holds a thread, and must not hold one that ordinary requests need."""
    return [sys.executable, "-m", "granian", "--interface", "wsgi", "--factory",
            "--host", host, "--port", str(port), "--workers", str(workers),
            "--blocking-threads", str(threads + streams), "--runtime-threads", "1",
            "--respawn-failed-workers", "--workers-kill-timeout", "5",
            *(["--access-log", "--access-log-fmt", ACCESS_LOG_FORMAT] if access_log else ["--no-access-log"]),
            "--log-level", "warning", "webmap.app:create_app"]
