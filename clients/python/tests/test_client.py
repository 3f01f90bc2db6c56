"""dsn_client against real daemons (see daemon_harness.py for how they are started)."""
import os
import queue
import threading
import unittest

import dsn_client
from dsn_client import Client
from dsn_client.compat import DSNodeConfig, DSNodeServer

from daemon_harness import Lab, wait_until

lab: Lab
one = None  # the daemon the tests talk to
two = None  # a peer of it, in the same namespace


def setUpModule() -> None:
    global lab, one, two
    lab = Lab()
    one = lab.daemon("py1")
    two = lab.daemon("py2")
    with Client(one.socket) as c:
        wait_until(lambda: c.peers() == ["py1", "py2"], 15, "py1 and py2 see each other")


def tearDownModule() -> None:
    lab.close()


class Requests(unittest.TestCase):
    def setUp(self) -> None:
        self.c = Client(one.socket)
        self.addCleanup(self.c.close)

    def test_set_get_round_trips_every_type(self) -> None:
        values = {"int": 42, "float": 21.5, "str": "kitchen window", "true": True, "none": None, "list": [1, "a", [2]], "dict": {"fan": True, "rpm": 1200}, "bytes": b"\x00\x01\xff"}
        for key, value in values.items():
            self.c.set(key, value)
        for key, value in values.items():
            self.assertEqual(self.c.get("@", key), value, key)
            self.assertEqual(self.c.get("py1", key), value, key)
        self.assertIsInstance(self.c.get("@", "bytes"), bytes)

    def test_unknown_node_or_key_is_none_or_default(self) -> None:
        self.assertIsNone(self.c.get("@", "never-set"))
        self.assertEqual(self.c.get("@", "never-set", default=-1), -1)
        self.assertIsNone(self.c.get("nobody", "x"))
        self.assertIsNone(self.c.state("nobody"))

    def test_state_and_delete(self) -> None:
        self.c.set("gone-soon", 1)
        self.assertEqual(self.c.state()["gone-soon"], 1)
        self.assertTrue(self.c.delete("gone-soon"))
        self.assertFalse(self.c.delete("gone-soon"))
        self.assertNotIn("gone-soon", self.c.state("@"))

    def test_peers_status_ping(self) -> None:
        self.assertEqual(self.c.peers(), ["py1", "py2"])
        status = self.c.status()
        self.assertEqual(status["nodeId"], "py1")
        self.assertEqual(status["daemon"]["socket"], one.socket)
        self.assertEqual(self.c.node_id, "py1")
        self.assertEqual(len(self.c.ping()["publicKey"]), 64)

    def test_reads_another_nodes_state(self) -> None:
        with Client(two.socket) as c2:
            c2.set("humidity", 55)
        wait_until(lambda: self.c.get("py2", "humidity") == 55, 10, "py2's write seen on py1")
        self.assertEqual(self.c.states()["py2"]["humidity"], 55)

    def test_daemon_errors_are_typed_with_codes(self) -> None:
        with self.assertRaises(dsn_client.BadKeyError) as bad_key:
            self.c.set("", 1)
        self.assertEqual(bad_key.exception.code, "DSN_BAD_KEY")
        with self.assertRaises(dsn_client.ValueTooLargeError) as too_large:
            self.c.set("big", "x" * 70000)
        self.assertEqual(too_large.exception.code, "DSN_VALUE_TOO_LARGE")
        self.assertIsInstance(too_large.exception, dsn_client.DsnError)
        with self.assertRaises(dsn_client.BadRequestError) as bad_request:
            self.c.request("nonsense")
        self.assertIn("unknown op", bad_request.exception.message)
        # The connection is still usable after errors.
        self.c.set("after-errors", 1)
        self.assertEqual(self.c.get("@", "after-errors"), 1)

    def test_values_json_cannot_carry_fail_before_sending(self) -> None:
        with self.assertRaises(dsn_client.BadValueError) as nan:
            self.c.set("t", float("nan"))
        self.assertIn("NaN", str(nan.exception))
        with self.assertRaises(dsn_client.BadValueError):
            self.c.set("t", {1: "int key"})
        with self.assertRaises(dsn_client.BadValueError):
            self.c.set("t", object())

    def test_no_daemon_is_a_clear_error(self) -> None:
        missing = os.path.join(lab.work, "nobody.sock")
        with self.assertRaises(dsn_client.DaemonUnreachableError) as err:
            Client(missing, reconnect_s=0).peers()
        self.assertIn("no dsn daemon is running on " + missing, str(err.exception))
        self.assertIsInstance(err.exception, ConnectionError)

    def test_socket_from_environment(self) -> None:
        old = os.environ.get("DSN_SOCKET")
        os.environ["DSN_SOCKET"] = one.socket
        try:
            self.assertEqual(Client().socket_path, one.socket)
            self.assertEqual(Client().node_id, "py1")
        finally:
            if old is None:
                del os.environ["DSN_SOCKET"]
            else:
                os.environ["DSN_SOCKET"] = old
        if "DSN_SOCKET" not in os.environ:
            self.assertEqual(Client().socket_path, "/run/dsn/dsn.sock")

    def test_dsn_aliases(self) -> None:
        self.c.update_data("alias", "72.5")
        self.assertEqual(self.c.read_data("py1", "alias"), "72.5")


class Events(unittest.TestCase):
    def setUp(self) -> None:
        self.c = Client(one.socket)
        self.addCleanup(self.c.close)

    def test_watch_yields_updates_filtered_by_key(self) -> None:
        events = self.c.watch(key="watched")
        got = queue.Queue()

        def consume() -> None:
            for e in events:
                got.put(e)
                return

        reader = threading.Thread(target=consume, daemon=True)
        reader.start()
        # The watch is registered once the daemon answers it: write until the first event arrives.
        writer = Client(one.socket)
        self.addCleanup(writer.close)
        for i in range(200):
            writer.set("other", i)
            writer.set("watched", {"n": i, "b": b"\x01"})
            try:
                event = got.get(timeout=0.05)
                break
            except queue.Empty:
                continue
        else:
            self.fail("no update event from watch()")
        self.assertEqual(event["event"], "update")
        self.assertEqual(event["nodeId"], "py1")
        self.assertEqual(event["key"], "watched")
        self.assertEqual(event["value"]["b"], b"\x01")
        self.assertFalse(event["deleted"])

    def test_update_callback_sees_peer_writes(self) -> None:
        seen = queue.Queue()
        self.c.on_update(lambda node_id, key, value: seen.put((node_id, key, value)) if key == "cb" else None)
        with Client(two.socket) as c2:
            for i in range(200):
                c2.set("cb", i)
                try:
                    node_id, key, value = seen.get(timeout=0.05)
                    break
                except queue.Empty:
                    continue
            else:
                self.fail("the update callback was never called")
        self.assertEqual((node_id, key), ("py2", "cb"))
        self.assertIsInstance(value, int)

    def test_compat_server_face(self) -> None:
        calls = queue.Queue()
        server = DSNodeServer.start(DSNodeConfig(node_id="py1", port=8000, socket_path=one.socket), update_callback=lambda: calls.put(1))
        self.addCleanup(server.stop)
        server.node.update_data("temperature", "72.5")
        self.assertEqual(server.node.read_data("py1", "temperature"), "72.5")
        self.assertEqual(server.node.peers(), ["py1", "py2"])
        self.assertEqual(server.node.node_id, "py1")
        for i in range(200):
            server.node.update_data("tick", i)
            try:
                calls.get(timeout=0.05)
                break
            except queue.Empty:
                continue
        else:
            self.fail("the no-argument update callback was never called")


class Restart(unittest.TestCase):
    """Runs last (unittest orders classes by name: Events, Requests, Restart)."""

    def test_requests_and_watch_survive_a_daemon_restart(self) -> None:
        c = Client(one.socket)
        self.addCleanup(c.close)
        c.set("before", 1)
        events = c.watch()
        got = queue.Queue()

        def consume() -> None:
            for e in events:
                got.put(e)
                if e.get("key") == "after-restart":
                    return

        threading.Thread(target=consume, daemon=True).start()
        for i in range(200):
            c.set("warmup", i)
            try:
                if got.get(timeout=0.05).get("key") == "warmup":
                    break
            except queue.Empty:
                continue
        one.restart()
        # Same Client object: its old connection is dead, the request reconnects by itself.
        c.set("after-restart", 2)
        self.assertEqual(c.get("@", "after-restart"), 2)
        self.assertEqual(c.get("@", "before"), 1, "the daemon kept its own state across the restart")
        kinds = []
        while "after-restart" not in kinds:
            e = got.get(timeout=20)
            kinds.append(e.get("key") or e["event"])
            if e["event"] == "reconnected":
                # The watch is back: write again so an event arrives on the new connection.
                c.set("after-restart", 3)
        self.assertIn("reconnected", kinds)
        with Client(one.socket) as fresh:
            wait_until(lambda: fresh.peers() == ["py1", "py2"], 15, "py2 seen again after the restart")


if __name__ == "__main__":
    unittest.main()
