"""Typed exceptions. Each carries the daemon's stable error ``code`` (``DSN_BAD_KEY``, ...)."""
from typing import Dict, Type


class DsnError(Exception):
    """Base of every error this client raises; ``code`` is the daemon's code, to switch on."""

    code = "DSN_ERROR"

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code

    def __str__(self) -> str:
        return "%s: %s" % (self.code, self.message)


class DaemonUnreachableError(DsnError, ConnectionError):
    """No daemon answers on the socket (not running, permission denied, or it went away)."""

    code = "DSN_UNREACHABLE"


class BadRequestError(DsnError):
    code = "DSN_BAD_REQUEST"


class NotFoundError(DsnError, LookupError):
    """No such node, or no such key (``get``/``state`` return ``None`` instead of raising)."""

    code = "DSN_NOT_FOUND"


class BadKeyError(DsnError, ValueError):
    code = "DSN_BAD_KEY"


class BadValueError(DsnError, ValueError):
    code = "DSN_BAD_VALUE"


class ValueTooLargeError(BadValueError):
    code = "DSN_VALUE_TOO_LARGE"


class TooManyKeysError(DsnError):
    code = "DSN_TOO_MANY_KEYS"


class StateTooLargeError(DsnError):
    code = "DSN_STATE_TOO_LARGE"


class DaemonInternalError(DsnError):
    code = "DSN_INTERNAL"


_BY_CODE: Dict[str, Type[DsnError]] = {
    cls.code: cls
    for cls in (
        BadRequestError,
        NotFoundError,
        BadKeyError,
        BadValueError,
        ValueTooLargeError,
        TooManyKeysError,
        StateTooLargeError,
        DaemonInternalError,
    )
}


def error_from_daemon(body: object) -> DsnError:
    """The exception for an ``{"code", "message"}`` error body; unknown codes give a plain DsnError."""
    if not isinstance(body, dict):
        return DsnError("malformed error from the daemon: %r" % (body,), "DSN_INTERNAL")
    code = str(body.get("code", "DSN_ERROR"))
    message = str(body.get("message", ""))
    return _BY_CODE.get(code, DsnError)(message, code)
