"""The change feed over HTTP: `/collections/{layer}/changes` and `/changes` (pages,
one call into `webmap.api.changes`), and `/changes/stream` (Server-Sent Events,
`webmap.change_stream`). Answers are never cached: a token gives more changes later."""
from __future__ import annotations

from flask import Blueprint, current_app, request

from gisdb.engine import db_errors
from gisdb.feed.log import horizon

from .api.changes import changes_document, parse_feed_query, start_position
from .caching import CACHE_CONTROL
from .change_stream import EventStream, FeedListener, StreamSlots
from .responses import flask_response, respond
from .services import services

bp = Blueprint("changes", __name__)
EVENT_STREAM = "text/event-stream; charset=utf-8"


@bp.record_once
def _setup(state) -> None:
    """One listener and the stream slots per app (per worker process)."""
    app = state.app
    settings = app.extensions["gisdb"].settings
    app.extensions["gisdb.streams"] = StreamSlots(settings.max_streams)
    app.extensions["gisdb.listener"] = FeedListener(app.extensions["gisdb"].engine)


def _base() -> str:
    return request.host_url.rstrip("/") + request.script_root


@bp.get("/collections/<layer_id>/changes")
def layer_changes(layer_id: str):
    return respond(changes_document(services().engine, [layer_id],
                                    list(request.args.items(multi=True)), base=_base()), "never")


@bp.get("/changes")
def changes():
    return respond(changes_document(services().engine, None,
                                    list(request.args.items(multi=True)), base=_base()), "never")


@bp.get("/changes/stream")
def stream():
    """Live changes as Server-Sent Events; `Last-Event-ID` (a reconnecting EventSource)
    takes the place of `since`. A bad token is a JSON 400 before the stream starts."""
    pairs = list(request.args.items(multi=True))
    resume = request.headers.get("Last-Event-ID")
    if resume:
        pairs = [(k, v) for k, v in pairs if k != "since"] + [("since", resume.strip())]
    q = parse_feed_query(pairs, None)
    engine = services().engine
    with db_errors(), engine.connect() as conn:
        start = start_position(q.since, horizon(conn))
    slots: StreamSlots = current_app.extensions["gisdb.streams"]
    listener: FeedListener = current_app.extensions["gisdb.listener"]
    slots.take()
    listener.start()
    body = EventStream(engine, listener, q, start, services().settings.request_timeout_ms,
                       slots.give_back)
    headers = {"Cache-Control": CACHE_CONTROL["never"], "X-Accel-Buffering": "no"}
    return flask_response(200, headers, body, EVENT_STREAM)

