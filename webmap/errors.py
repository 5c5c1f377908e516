"""The one mapping from the system's exceptions to HTTP: JSON {code, description},
the right status, and never SQL, stack traces or credentials in a body."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from gisdb import errors
from gisdb.engine import translate_db_error

from .caching import CACHE_CONTROL

log = logging.getLogger(__name__)

STATUS = {
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.FeatureConflict: 409,
    errors.PreconditionFailed: 412,
    errors.UnsupportedMediaType: 415,
    errors.UnprocessableFeature: 422,
    errors.PreconditionRequired: 428,
    errors.InvalidFilter: 400,
    errors.TokenExpired: 410,
    errors.BodyTooLarge: 413,
    errors.ServerBusy: 503,
    errors.InvalidParameter: 400,
    errors.UnsafeInput: 400,
    errors.ImportFailed: 422,
    errors.RevertConflict: 409,
    errors.QueryTimeout: 503,
    errors.DatabaseUnavailable: 503,
    errors.ConfigurationError: 500,
    errors.JobFailed: 500,
    errors.GisdbError: 500,
}


def status_of(exc: errors.GisdbError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_response(code: str, description: str, status: int, extra: dict | None = None):
    resp = jsonify({"code": code, "description": description, **(extra or {})})
    resp.status_code = status
    if status == 503:
        resp.headers["Retry-After"] = "5"
    resp.headers["Cache-Control"] = CACHE_CONTROL["never"]
    return resp


def challenge(exc: errors.Unauthorized) -> str:
    """The `WWW-Authenticate` header of a 401 (RFC 6750): `invalid_token` for a bad one."""
    return 'Bearer realm="gisdb"' + (', error="invalid_token"' if exc.invalid_token else "")


def _write_details(exc: errors.GisdbError) -> dict | None:
    """`field`, `rule` (and a transaction's `action`) of a refused write."""
    if not isinstance(exc, errors.WriteRejected):
        return None
    details = {"field": exc.field, "rule": exc.rule, "action": exc.action}
    return {k: v for k, v in details.items() if v is not None}


def install_error_handlers(app: Flask) -> None:
    @app.errorhandler(errors.GisdbError)
    def _gisdb(exc: errors.GisdbError):
        resp = error_response(exc.code, str(exc), status_of(exc), _write_details(exc))
        if isinstance(exc, errors.Unauthorized):
            resp.headers["WWW-Authenticate"] = challenge(exc)
        return resp

    @app.errorhandler(sa_exc.DBAPIError)
    def _db(exc: sa_exc.DBAPIError):
        if isinstance(exc, sa_exc.DataError):   # a request value the database refused
            return error_response("InvalidParameterValue",
                                  "a value of the request could not be used by the database", 400)
        mapped = translate_db_error(exc)
        if isinstance(mapped, errors.GisdbError):
            return _gisdb(mapped)
        log.exception("database error")
        return error_response("ServerError", "the database could not answer this request", 500)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return error_response(exc.name.replace(" ", ""), exc.description or exc.name, exc.code or 500)

    @app.errorhandler(Exception)
    def _other(exc: Exception):
        log.exception("unhandled error")
        return error_response("ServerError", "internal server error", 500)

