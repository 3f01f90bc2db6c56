"""The dsn daemon's control socket from Python: Client.set/get/delete/state/peers/status/watch."""
import inspect
import os
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional

from .connection import Connection
from .errors import DaemonUnreachableError, DsnError, NotFoundError, error_from_daemon
from .values import encode_request, from_json, to_json

DEFAULT_SOCKET = "/run/dsn/dsn.sock"
SELF = "@"
EVENTS = ("update", "peer-up", "peer-down", "message", "reconnected")

_MISSING = object()


def default_socket_path() -> str:
    """DSN_SOCKET when set (and not empty), else /run/dsn/dsn.sock: as the dsn CLI does."""
    return os.environ.get("DSN_SOCKET") or DEFAULT_SOCKET


class Client:
    """A connection to the local dsn daemon. Thread-safe; reconnects when the daemon restarts.

    >>> dsn = Client()
    >>> dsn.set("temperature", 21.5)
    >>> dsn.get("sensor_hall", "temperature")      # None when unknown
    >>> for event in dsn.watch(): print(event)

    timeout: seconds one request may take. reconnect_s: how long a request waits for a daemon
    that went away to come back (0: fail at once); the very first connection fails at once, with
    DaemonUnreachableError, when no daemon runs. Errors are DsnError subclasses with the daemon's code.
    """

    def __init__(self, socket_path: Optional[str] = None, timeout: float = 10.0, reconnect_s: float = 10.0) -> None:
        self.socket_path = socket_path or default_socket_path()
        self.timeout = timeout
        self.reconnect_s = reconnect_s
        self._conn: Optional[Connection] = None
        self._lock = threading.Lock()
        self._callbacks: Dict[str, List[Callable[..., Any]]] = {name: [] for name in EVENTS}
        self._watch_thread: Optional[threading.Thread] = None
        self._watch_stop = threading.Event()
        self._watch_conn: Optional[Connection] = None
        self._connected_once = False

    # ---- requests ----

    def request(self, op: str, **fields: Any) -> Any:
        """One raw request ({"op": op, ...fields}); the decoded result, or a typed DsnError."""
        data = encode_request(dict(op=op, **fields))
        with self._lock:
            retry = _Retry(self.reconnect_s if self._connected_once else 0)
            while True:
                try:
                    if self._conn is None:
                        self._conn = Connection(self.socket_path, self.timeout)
                        self._connected_once = True
                    self._conn.send(data)
                    response = self._conn.read_message()
                    break
                except DaemonUnreachableError as err:
                    self._drop()
                    # The daemon restarted (or is restarting): retry on a fresh connection for up
                    # to reconnect_s. Every op is idempotent (set, del, reads): a repeat is harmless.
                    if err.code == "DSN_TIMEOUT" or not retry.wait():
                        raise
        if not isinstance(response, dict) or "ok" not in response:
            raise DsnError("malformed response from the daemon: %r" % (response,), "DSN_INTERNAL")
        if not response["ok"]:
            raise error_from_daemon(response.get("error"))
        return response.get("result")

    def set(self, key: str, value: Any) -> None:
        """Sets a key of this node's state: None, bool, int, float, str, bytes, list or dict."""
        self.request("set", key=key, value=to_json(value))

    def get(self, node: str, key: str, default: Any = None) -> Any:
        """A key of a node's state ("@" is this node); default when the node or key is unknown."""
        try:
            return from_json(self.request("get", node=node, key=key))
        except NotFoundError:
            return default

    def delete(self, key: str) -> bool:
        """Deletes a key of this node's state; False when it was not set."""
        return bool(self.request("del", key=key))

    def state(self, node: str = SELF) -> Optional[Dict[str, Any]]:
        """A node's whole state as a dict ("@" is this node); None when the node is unknown."""
        try:
            return from_json(self.request("get", node=node))
        except NotFoundError:
            return None

    def states(self) -> Dict[str, Dict[str, Any]]:
        """Every live node's state: {node_id: {key: value}}."""
        return from_json(self.request("get"))

    def peers(self) -> List[str]:
        """Ids of live nodes, this one included, sorted."""
        return list(self.request("peers"))

    def status(self) -> Dict[str, Any]:
        """This node, its peers, its counters, and the daemon (pid, version, socket)."""
        return dict(self.request("status"))

    def ping(self) -> Dict[str, Any]:
        """{"nodeId", "publicKey"} of the daemon's node."""
        return dict(self.request("ping"))

    @property
    def node_id(self) -> str:
        return str(self.ping()["nodeId"])

    # The Python DSN's names, so a seed user's script ports by changing its import.
    update_data = set
    read_data = get

    # ---- events ----

    def watch(self, node: Optional[str] = None, key: Optional[str] = None, reconnect: bool = True) -> Iterator[Dict[str, Any]]:
        """Yields one dict per event, as `dsn watch` prints them: {"event": "update", "nodeId",
        "key", "value", "deleted"}, "peer-up", "peer-down", "message". node/key filter (key keeps
        updates only). When the daemon restarts it reconnects and yields {"event": "reconnected"}
        (changes in between were missed: re-read what you need); reconnect=False ends instead.
        Its own connection, closed when the generator is closed."""
        reconnecting = False
        while True:
            retry = _Retry(self.reconnect_s if reconnecting else 0)
            while True:
                try:
                    conn = Connection(self.socket_path, self.timeout)
                except DaemonUnreachableError:
                    if not retry.wait():
                        raise
                    continue
                self._watch_conn = conn
                try:
                    conn.send(encode_request({"op": "watch"}))
                    first = conn.read_message()
                    break
                except DaemonUnreachableError:
                    # Reached a daemon on its way out (it closes after accepting): try the next one.
                    conn.close()
                    if not retry.wait():
                        raise
            try:
                if not isinstance(first, dict) or not first.get("ok"):
                    raise error_from_daemon(first.get("error") if isinstance(first, dict) else first)
                conn.settimeout(None)  # events come when they come
                if reconnecting:
                    # Changes made while no daemon ran were missed: the caller re-reads.
                    yield {"event": "reconnected"}
                while True:
                    try:
                        message = conn.read_message()
                    except DaemonUnreachableError:
                        break
                    if not isinstance(message, dict) or "event" not in message:
                        continue
                    if message["event"] == "stopping":
                        break
                    if _matches(message, node, key):
                        if "value" in message:
                            message["value"] = from_json(message["value"])
                        if "data" in message:
                            message["data"] = from_json(message["data"])
                        yield message
            finally:
                conn.close()
                self._watch_conn = None
            if not reconnect or self._watch_stop.is_set():
                return
            reconnecting = True

    def on(self, event: str, callback: Callable[[Dict[str, Any]], Any]) -> "Client":
        """Calls callback(event_dict) for each event of that name ("update", "peer-up",
        "peer-down", "message", "reconnected") from a background thread (see start())."""
        if event not in self._callbacks:
            raise ValueError("unknown event %r (known: %s)" % (event, ", ".join(EVENTS)))
        self._callbacks[event].append(callback)
        self.start()
        return self

    def on_update(self, callback: Callable[..., Any]) -> "Client":
        """The update callback. Called with (node_id, key, value) when it takes arguments, as
        DSN update callbacks that read the new value; with none when it takes none."""
        return self.on("update", _adapt_update(callback))

    def on_disconnect(self, callback: Callable[..., Any]) -> "Client":
        """Called with the peer's node id when a peer goes down (the Python DSN's disconnect callback)."""
        return self.on("peer-down", lambda e: callback(e["nodeId"]))

    def start(self) -> None:
        """Starts the background thread that runs watch() and calls the callbacks (daemon thread)."""
        if self._watch_thread is not None and self._watch_thread.is_alive():
            return
        self._watch_stop.clear()
        self._watch_thread = threading.Thread(target=self._dispatch, name="dsn-watch", daemon=True)
        self._watch_thread.start()

    def _dispatch(self) -> None:
        while not self._watch_stop.is_set():
            try:
                for event in self.watch():
                    if self._watch_stop.is_set():
                        return
                    for callback in list(self._callbacks.get(event["event"], ())):
                        try:
                            callback(event)
                        except Exception:  # a callback's bug must not end the stream
                            import traceback

                            traceback.print_exc()
            except DaemonUnreachableError:
                # No daemon for reconnect_s: keep trying, as a long-lived script wants.
                self._watch_stop.wait(1.0)

    def close(self) -> None:
        """Closes both connections and ends the callback thread."""
        self._watch_stop.set()
        conn = self._watch_conn
        if conn is not None:
            conn.close()
        with self._lock:
            self._drop()
        if self._watch_thread is not None and self._watch_thread is not threading.current_thread():
            self._watch_thread.join(timeout=2.0)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _Retry:
    """Sleeps with backoff between tries until wait_s has passed since the first failure."""

    def __init__(self, wait_s: float) -> None:
        self.deadline = time.monotonic() + wait_s
        self.delay = 0.02

    def wait(self) -> bool:
        if time.monotonic() + self.delay > self.deadline:
            return False
        time.sleep(self.delay)
        # Backs off to 0.5 s: a daemon restarting on a Pi takes about a second.
        self.delay = min(self.delay * 2, 0.5)
        return True


def _matches(event: Dict[str, Any], node: Optional[str], key: Optional[str]) -> bool:
    about = event.get("from") if event.get("event") == "message" else event.get("nodeId")
    if node is not None and about != node:
        return False
    if key is not None:
        return event.get("event") == "update" and event.get("key") == key
    return True


def _adapt_update(callback: Callable[..., Any]) -> Callable[[Dict[str, Any]], Any]:
    try:
        takes_none = not any(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in inspect.signature(callback).parameters.values()
        )
    except (TypeError, ValueError):
        takes_none = False
    if takes_none:
        return lambda e: callback()
    return lambda e: callback(e["nodeId"], e["key"], e.get("value"))
