"""What kazoo_usecases.py needs besides kazoo: checks, bounded waits, the cluster's supervisor
(kill and restart a node, find the leader), and participants in their own process (a crash
is a process that stops or dies, so that its session ends the way a real crash ends it).
"""

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from urllib.parse import urlparse

from kazoo.client import KazooClient

PASSED = []
HERE = os.path.dirname(os.path.abspath(__file__))
# kazoo logs every dropped connection; the kills here drop many on purpose.
logging.getLogger("kazoo").setLevel(logging.ERROR)


def check(name, cond, detail=""):
    """One outcome of a use case; the first failure names it and ends the run."""
    if not cond:
        print(f"FAIL {name} {detail}", flush=True)
        print(f"kazoo use cases: {len(PASSED)} passed, 1 failed", flush=True)
        os._exit(1)  # threads blocked in recipes must not keep the process alive
    PASSED.append(name)
    print(f"ok   {name}", flush=True)


def wait_for(cond, limit=10.0):
    end = time.time() + limit
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def client(hosts, first=None, timeout=10.0):
    """A started kazoo client; with `first`, it connects to that server first (the others
    remain its fallbacks, in order)."""
    order = list(hosts)
    if first is not None:
        order.remove(first)
        order.insert(0, first)
    retry = {"max_tries": -1, "delay": 0.1, "max_delay": 1}
    c = KazooClient(
        hosts=",".join(order),
        timeout=timeout,
        connection_retry=retry,
        command_retry={"max_tries": 50, "delay": 0.1, "max_delay": 1},
        randomize_hosts=first is None,
    )
    c.start(timeout=15)
    return c


def thread(target, *args):
    t = threading.Thread(target=target, args=args, daemon=True)
    t.start()
    return t


class Cluster:
    """The `zabra cluster` supervisor: node i serves clients at hosts[i-1] and HTTP at the
    supervisor's port + i."""

    def __init__(self, hosts, supervisor, token):
        self.hosts = hosts.split(",")
        self.supervisor = supervisor.rstrip("/")
        self.token = token
        self.http = urlparse(self.supervisor).port

    def health(self, i):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http + i}/healthz", timeout=2) as r:
                return json.loads(r.read())["status"]
        except Exception:  # noqa: BLE001  (a killed node does not answer)
            return None

    def leader(self, limit=30.0):
        """The serving leader (bounded wait), or None."""
        end = time.time() + limit
        while time.time() < end:
            for i in range(1, len(self.hosts) + 1):
                s = self.health(i)
                if s and s["serving"] and s["state"] == "Leading":
                    return i
            time.sleep(0.1)
        return None

    def follower(self):
        leader = self.leader()
        return next(i for i in range(1, len(self.hosts) + 1) if i != leader)

    def node_of(self, zk):
        """The node a kazoo client is connected to (from its socket's peer)."""
        port = zk._connection._socket.getpeername()[1]
        return next(i for i, h in enumerate(self.hosts, 1) if h.endswith(f":{port}"))

    def host(self, i):
        return self.hosts[i - 1]

    def control(self, i, action):
        url = f"{self.supervisor}/nodes/{i}/{action}?token={self.token}"
        urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=5).read()

    def kill(self, i):
        self.control(i, "kill")

    def restart(self, i, limit=40.0):
        """Restarts node i and waits (bounded) until every node serves again."""
        self.control(i, "restart")
        n = len(self.hosts)
        ok = wait_for(lambda: all((self.health(j) or {}).get("serving") for j in range(1, n + 1)), limit)
        return ok and self.leader() is not None


class Participant:
    """kazoo_participant.py in its own process, driven by lines on its stdin; its answers
    are read with bounded waits. `pause` (SIGSTOP) and `crash` (SIGKILL) end its session
    the way a stalled or dead process does: no close request, the session expires."""

    def __init__(self, hosts, name):
        script = os.path.join(HERE, "kazoo_participant.py")
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, script, ",".join(hosts), name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.lines = queue.Queue()
        thread(self._read)
        self.expect("connected")

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, prefix, limit=15.0):
        """The next answer starting with `prefix` (its rest), or None within the limit."""
        end = time.time() + limit
        while time.time() < end:
            try:
                line = self.lines.get(timeout=max(0.01, end - time.time()))
            except queue.Empty:
                break
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
        return None

    def ask(self, line, prefix, limit=15.0):
        self.send(line)
        return self.expect(prefix, limit)

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def crash(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
