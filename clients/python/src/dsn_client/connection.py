"""One connection to the daemon's Unix socket: newline-delimited JSON, answered in order."""
import errno
import json
import socket
from typing import Any, Optional

from .errors import DaemonUnreachableError

# Responses can carry whole states (get with no node): far more than any request.
MAX_LINE_BYTES = 256 * 1024 * 1024


class Connection:
    def __init__(self, path: str, timeout: Optional[float]) -> None:
        self.path = path
        self._buffer = b""
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(path)
        except OSError as err:
            self._sock.close()
            raise unreachable(path, err) from None

    def send(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as err:
            raise DaemonUnreachableError("the daemon on %s went away (%s)" % (self.path, err.strerror or err)) from None

    def read_message(self) -> Any:
        """The next JSON line; DaemonUnreachableError when the daemon closes the connection."""
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line, self._buffer = self._buffer[:end], self._buffer[end + 1 :]
                if line.strip():
                    return json.loads(line.decode("utf-8"))
                continue
            if len(self._buffer) > MAX_LINE_BYTES:
                raise DaemonUnreachableError("the daemon on %s sent a line over %d bytes" % (self.path, MAX_LINE_BYTES))
            try:
                chunk = self._sock.recv(65536)
            except socket.timeout:
                raise DaemonUnreachableError("the daemon on %s did not answer in time" % self.path, "DSN_TIMEOUT") from None
            except OSError as err:
                raise DaemonUnreachableError("the daemon on %s went away (%s)" % (self.path, err.strerror or err)) from None
            if not chunk:
                raise DaemonUnreachableError("the daemon on %s closed the connection" % self.path)
            self._buffer += chunk

    def settimeout(self, timeout: Optional[float]) -> None:
        self._sock.settimeout(timeout)

    def close(self) -> None:
        try:
            # shutdown() wakes a thread blocked in recv() on this socket; close() alone may not.
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self._sock.close()
        except OSError:
            pass


def unreachable(path: str, err: OSError) -> DaemonUnreachableError:
    if err.errno in (errno.ENOENT, errno.ECONNREFUSED, errno.ENOTDIR):
        return DaemonUnreachableError(
            "no dsn daemon is running on %s (%s): start one with `dsn run` (or systemctl start dsn), "
            "or point socket_path / DSN_SOCKET at the right one" % (path, errno.errorcode.get(err.errno or 0, err))
        )
    if err.errno in (errno.EACCES, errno.EPERM):
        return DaemonUnreachableError("permission denied on %s: run as the daemon's user, or join its group (the socket is mode 0660)" % path)
    return DaemonUnreachableError("cannot reach the dsn daemon on %s: %s" % (path, err))
