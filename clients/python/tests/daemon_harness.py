"""Starts real `dsn run` daemons (from the bundle) for the client tests, inside the lab namespace.

The tests are run by test/python/client.test.ts, which builds the bundle and runs them in a fresh
loopback-only network namespace (test/lab/one-host.ts) with DSN_TEST_NODE and DSN_TEST_BUNDLE set.
By hand:  unshare -n sh -c 'ip link set lo up; ip link set lo multicast on; ip route add 224.0.0.0/4 dev lo;
          DSN_TEST_NODE=node DSN_TEST_BUNDLE=dist/dsn.cjs PYTHONPATH=clients/python/src python3 -m unittest discover -s clients/python/tests'
"""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from typing import Dict, List, Optional

KEY = "c0" * 32


def lab_namespace_problem() -> Optional[str]:
    """Why a mesh socket must not be opened here (see test/lab/guard.ts), or None."""
    try:
        own = os.readlink("/proc/self/ns/net")
    except OSError:
        return "cannot read /proc/self/ns/net"
    for ref in ("/proc/1/ns/net", "/proc/2/ns/net"):
        try:
            if os.readlink(ref) == own:
                return "this is the initial network namespace"
        except OSError:
            pass
    with open("/proc/net/route") as f:
        for line in f.read().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 7 and fields[1] == "00000000" and fields[7] == "00000000":
                return "a default route exists (via %s)" % fields[0]
    return None


class Daemon:
    """One `dsn run` with its own socket and state; restart() keeps both."""

    def __init__(self, work: str, node_id: str, extra_env: Optional[Dict[str, str]] = None) -> None:
        self.node_id = node_id
        self.socket = os.path.join(work, node_id + ".sock")
        self.state_dir = os.path.join(work, node_id)
        self.extra_env = extra_env or {}
        self.proc: Optional[subprocess.Popen] = None
        self.log: List[dict] = []
        self._log_cond = threading.Condition()

    def start(self, timeout_s: float = 30.0) -> "Daemon":
        problem = lab_namespace_problem()
        if problem:
            raise RuntimeError("refusing to start a mesh node: %s (run the tests through test/python/client.test.ts)" % problem)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DSN_NETWORK_KEY": KEY,
            "DSN_NODE_ID": self.node_id,
            "DSN_CLUSTER": "pytest",
            "DSN_INTERFACE": "lo",
            "DSN_MDNS": "false",
            "DSN_SOCKET": self.socket,
            "DSN_CREDENTIAL_DIR": self.state_dir,
        }
        env.update(self.extra_env)
        node = os.environ.get("DSN_TEST_NODE", "node")
        bundle = os.environ["DSN_TEST_BUNDLE"]
        self.log = []
        self.proc = subprocess.Popen([node, bundle, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read_log, args=(self.proc,), daemon=True).start()
        self.wait_log("started", timeout_s)
        return self

    def _read_log(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            with self._log_cond:
                self.log.append(entry)
                self._log_cond.notify_all()

    def wait_log(self, msg: str, timeout_s: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout_s
        with self._log_cond:
            while True:
                for entry in self.log:
                    if entry.get("msg") == msg:
                        return entry
                if self.proc is not None and self.proc.poll() is not None:
                    err = self.proc.stderr.read() if self.proc.stderr else ""
                    raise RuntimeError("%s exited (%s) before logging %r: %s" % (self.node_id, self.proc.returncode, msg, err))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("%s did not log %r within %.0f s" % (self.node_id, msg, timeout_s))
                self._log_cond.wait(min(left, 0.2))

    def stop(self) -> int:
        if self.proc is None:
            return 0
        self.proc.terminate()
        code = self.proc.wait(timeout=15)
        self.proc = None
        return code

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=15)
            self.proc = None

    def restart(self) -> "Daemon":
        self.stop()
        return self.start()


class Lab:
    """A work dir and the daemons started in it; close() stops them all and removes it."""

    def __init__(self) -> None:
        self.work = tempfile.mkdtemp(prefix="dsn-pytest-")
        self.daemons: List[Daemon] = []

    def daemon(self, node_id: str, extra_env: Optional[Dict[str, str]] = None) -> Daemon:
        d = Daemon(self.work, node_id, extra_env)
        self.daemons.append(d)
        return d.start()

    def close(self) -> None:
        for d in self.daemons:
            try:
                d.kill()
            except Exception:
                pass
        shutil.rmtree(self.work, ignore_errors=True)


def wait_until(check, timeout_s: float = 10.0, what: str = "condition"):
    """Polls check() (a cheap local read) until it is truthy; for values that travel the mesh."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("%s not reached within %.0f s" % (what, timeout_s))
        time.sleep(0.02)
