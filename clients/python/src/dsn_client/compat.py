"""The Python DSN's face over the local daemon, so a seed user's script ports by changing its import:

    # from distributed_state_network import DSNodeServer, DSNodeConfig
    from dsn_client.compat import DSNodeServer, DSNodeConfig
    server = DSNodeServer.start(DSNodeConfig(node_id="sensor", port=8000), update_callback=on_update)
    server.node.update_data("temperature", "72.5")
    for node_id in server.node.peers(): server.node.read_data(node_id, "temperature")

The daemon (`dsn run`) owns the node: its id, key and network settings come from its own config,
so the network fields given here (port, aes_key_file, bootstrap_nodes) are accepted and ignored.
"""
from typing import Any, Callable, Dict, List, Optional

from .client import Client


class DSNodeConfig:
    def __init__(self, node_id: Optional[str] = None, port: Optional[int] = None, socket_path: Optional[str] = None, **ignored: Any) -> None:
        self.node_id = node_id
        self.port = port
        self.socket_path = socket_path
        self.ignored = ignored

    @staticmethod
    def from_dict(data: Dict[str, Any]) -> "DSNodeConfig":
        return DSNodeConfig(**data)


class DSNode:
    def __init__(self, client: Client) -> None:
        self.client = client

    @property
    def node_id(self) -> str:
        return self.client.node_id

    def update_data(self, key: str, value: Any) -> None:
        self.client.set(key, value)

    def read_data(self, node_id: str, key: str) -> Any:
        return self.client.get(node_id, key)

    def peers(self) -> List[str]:
        return self.client.peers()


class DSNodeServer:
    def __init__(self, config: Optional[DSNodeConfig] = None, disconnect_callback: Optional[Callable[..., Any]] = None, update_callback: Optional[Callable[..., Any]] = None) -> None:
        self.config = config or DSNodeConfig()
        self.client = Client(self.config.socket_path)
        self.node = DSNode(self.client)
        if update_callback is not None:
            self.client.on_update(update_callback)
        if disconnect_callback is not None:
            self.client.on_disconnect(disconnect_callback)

    @staticmethod
    def start(config: Any = None, disconnect_callback: Optional[Callable[..., Any]] = None, update_callback: Optional[Callable[..., Any]] = None) -> "DSNodeServer":
        if isinstance(config, dict):
            config = DSNodeConfig.from_dict(config)
        server = DSNodeServer(config, disconnect_callback, update_callback)
        server.client.ping()  # fail now, with a clear error, when no daemon runs
        return server

    def stop(self) -> None:
        self.client.close()
