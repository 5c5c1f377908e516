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


class RevertConflict(GisdbError):
    """A revert was refused: later changes touched the same features (it names them)."""

    code = "Conflict"

    def __init__(self, message: str, features: list[tuple[str, int]]):
        super().__init__(message)
        self.features = features
