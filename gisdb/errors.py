"""The one exception tree of the system. `webmap` maps these to HTTP statuses;
the command line prints them. Messages are meant for users: never SQL or secrets."""
from __future__ import annotations


class GisdbError(Exception):
    """Base of every error the system raises on purpose."""

    code = "ServerError"


class ConfigurationError(GisdbError):
    code = "ConfigurationError"


class DatabaseUnavailable(GisdbError):
    """The database cannot be reached (down, restarting, misconfigured)."""

    code = "DatabaseUnavailable"


class QueryTimeout(GisdbError):
    """A statement ran past its statement timeout."""

    code = "Timeout"


class NotFound(GisdbError, LookupError):
    code = "NotFound"


class InvalidParameter(GisdbError, ValueError):
    """A request or command parameter is malformed or unknown."""

    code = "InvalidParameterValue"


class BodyTooLarge(InvalidParameter):
    """A request body passed the server's size limit (noticed while it streamed in)."""

    code = "PayloadTooLarge"


class ServerBusy(GisdbError):
    """Every slot for this kind of expensive request is taken; the client should retry."""

    code = "ServerBusy"


class TokenExpired(GisdbError):
    """A change-feed token from before the feed's retention cut: the changes after it
    are no longer kept."""

    code = "TokenExpired"


class InvalidFilter(InvalidParameter):
    code = "InvalidFilter"


class ImportFailed(GisdbError):
    """An import was stopped; the target layer is unchanged."""

    code = "ImportFailed"


class UnsafeInput(ImportFailed):
    """A file was refused before it was opened (zip-slip, symlink, bomb, size)."""

    code = "UnsafeInput"


class ExportFailed(GisdbError):
    """Writing an export file failed; no partial file was left behind."""

    code = "ExportFailed"


class AlreadyLoaded(GisdbError):
    """Data that must not be loaded twice is already there (e.g. the sample city)."""

    code = "Conflict"


class Unauthorized(GisdbError):
    """No credential where one is needed, or one that is not valid (`invalid_token`)."""

    code = "Unauthorized"

    def __init__(self, message: str, *, invalid_token: bool = False):
        super().__init__(message)
        self.invalid_token = invalid_token


class Forbidden(GisdbError, PermissionError):
    """A valid credential without the role this request needs."""

    code = "Forbidden"


class WritesDisabled(Forbidden):
    """Writes are off on this server (GISDB_WRITES=off)."""

    code = "WritesDisabled"


class RevertConflict(GisdbError):
    """A revert was refused: later changes touched the same features (it names them)."""

    code = "Conflict"

    def __init__(self, message: str, features: list[tuple[str, int]]):
        super().__init__(message)
        self.features = features


class WriteRejected(GisdbError):
    """A write (API edit, `gisdb edit`, transaction) was refused and nothing changed.
    `field` and `rule` name what failed; `action` is its index in a transaction."""

    code = "WriteRejected"

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None,
                 action: int | None = None):
        super().__init__(message)
        self.field, self.rule, self.action = field, rule, action


class InvalidFeature(WriteRejected, InvalidParameter):
    """The feature is malformed: unknown property, a value of the wrong type, bad geometry."""

    code = "InvalidFeature"


class FeatureConflict(WriteRejected):
    """The write collides with other data: a natural key already used, a feature still
    referenced by others."""

    code = "Conflict"


class UnprocessableFeature(WriteRejected):
    """Well-formed, but against the layer's rules: outside Da Nang, a reference to a
    feature that does not exist, a value a constraint refuses."""

    code = "UnprocessableFeature"


class PreconditionFailed(WriteRejected):
    """The feature changed since the client read it (its If-Match is stale)."""

    code = "PreconditionFailed"


class PreconditionRequired(WriteRejected):
    """A change of an existing feature without If-Match: it could overwrite another's edit."""

    code = "PreconditionRequired"


class UnsupportedMediaType(InvalidParameter):
    """A request body of a media type the endpoint does not take."""

    code = "UnsupportedMediaType"


class ResultNotReady(NotFound):
    """The results of a job that has not finished (OGC API - Processes: 404)."""

    code = "ResultNotReady"


class JobFailed(GisdbError):
    """The results of a job that failed: its message says why (OGC API - Processes: 500)."""

    code = "JobFailed"


class JobDismissed(GisdbError):
    """Raised inside a running job's progress callback once the job was dismissed."""

    code = "JobDismissed"
