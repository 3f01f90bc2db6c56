"""dsn_client: the dsn daemon's control socket from Python, standard library only.

    from dsn_client import Client
    dsn = Client()                       # DSN_SOCKET, else /run/dsn/dsn.sock
    dsn.set("temperature", 21.5)
    dsn.get("sensor_hall", "temperature")
"""
from .client import DEFAULT_SOCKET, SELF, Client, default_socket_path
from .errors import (
    BadKeyError,
    BadRequestError,
    BadValueError,
    DaemonInternalError,
    DaemonUnreachableError,
    DsnError,
    NotFoundError,
    StateTooLargeError,
    TooManyKeysError,
    ValueTooLargeError,
)

__version__ = "0.1.0"

__all__ = [
    "Client",
    "DEFAULT_SOCKET",
    "SELF",
    "default_socket_path",
    "DsnError",
    "DaemonUnreachableError",
    "BadRequestError",
    "NotFoundError",
    "BadKeyError",
    "BadValueError",
    "ValueTooLargeError",
    "TooManyKeysError",
    "StateTooLargeError",
    "DaemonInternalError",
]
