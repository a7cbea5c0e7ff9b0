"""A pytest plugin that runs kazoo's own test suite (the unmodified `kazoo/tests` shipped in
the kazoo package) against a local `zabra cluster` instead of Java ZooKeeper servers.

kazoo's harness (`kazoo.testing.harness`) asks `get_global_cluster()` for a cluster object
and uses only its small interface: iterate the servers, `start`, `stop`, `terminate`,
`reset`, `get_logs`, and per server `address`, `running`, `run`, `stop`, `reset`. This plugin
replaces `get_global_cluster` with one returning `ZabraCluster`, whose servers are stopped and
started through the supervisor's HTTP control (`POST /nodes/<id>/kill|restart`). kazoo's
installed files are not edited.

Configuration (environment, set by `cargo xtask test --only clients`):
  ZABRA_PORT_OFFSET  the `--port-offset` of the running `zabra cluster`
  ZABRA_NODES        its number of voting members
  ZABRA_TOKEN        its admin token
  ZABRA_DATA_DIR     its `--data-dir` (node logs; `reset` wipes a node's folder)

Tests that cannot run against zabra are skipped here, by name, with the reason (SKIPS);
every wait below is bounded in time.
"""

import json
import logging
import os
import shutil
import socket
import time
import urllib.error
import urllib.request

import pytest

import kazoo.testing.harness

# Tests skipped because they need a ZooKeeper feature zabra does not have (all of them pass
# against Apache ZooKeeper 3.8.0 configured as kazoo's harness configures it, except the
# GSSAPI ones, which kazoo itself skips without a Kerberos KDC). pytest's summary (-rs) lists
# every skip with its reason. Nothing else is skipped or expected to fail.
_RECONFIG = "needs dynamic reconfig (reconfigEnabled): zabra's membership is static"
_SASL = "needs a SASL (DIGEST-MD5/GSSAPI) server: zabra has digest/ip/world auth only, no SASL"
_TLS = "needs a TLS client port (secureClientPort): zabra's client port is plain TCP"
_READ_ONLY = (
    "needs read-only mode (readonlymode.enabled): a zabra node without a quorum serves no client"
)
SKIPS = {
    "test_client.py::TestReconfig::": _RECONFIG,
    "test_sasl.py::TestLegacySASLDigestAuthentication::": _SASL,
    "test_sasl.py::TestSASLDigestAuthentication::": _SASL,
    "test_sasl.py::TestSASLGSSAPIAuthentication::": _SASL,
    "test_client.py::TestSSLClient::": _TLS,
    "test_connection.py::TestReadOnlyMode::": _READ_ONLY,
}

# How long the harness waits for the cluster, a node process or a port.
SERVE_LIMIT = 60.0
PORT_LIMIT = 15.0


def _env_int(name, default):
    return int(os.environ.get(name, default))


class ZabraServer:
    """One zabra node, as kazoo's `ManagedZooKeeper` presents a Java server."""

    def __init__(self, cluster, node_id):
        self.cluster = cluster
        self.node_id = node_id
        self.host = "127.0.0.1"
        self.client_port = 2180 + node_id + cluster.offset
        self.http_port = 8080 + node_id + cluster.offset
        self._running = True

    @property
    def address(self):
        return "%s:%s" % (self.host, self.client_port)

    @property
    def secure_address(self):
        raise RuntimeError("zabra has no TLS client port")

    @property
    def running(self):
        return self._running

    def run(self):
        """Start the node (supervisor `restart`) and wait until it accepts connections and,
        when a quorum of the cluster runs, until it serves."""
        if self._running:
            return
        self.cluster.control(self.node_id, "restart")
        self._running = True
        _wait_for(lambda: _port_open(self.client_port), PORT_LIMIT, "node %d listens" % self.node_id)
        if self.cluster.quorum_running():
            _wait_for(self.serving, SERVE_LIMIT, "node %d serves" % self.node_id)

    def stop(self):
        """Stop the node (supervisor `kill`) and wait until its client port is closed."""
        if not self._running:
            return
        self.cluster.control(self.node_id, "kill")
        self._running = False
        _wait_for(lambda: not _port_open(self.client_port), PORT_LIMIT, "node %d stops" % self.node_id)

    def reset(self):
        """Stop the node and clear its data, as kazoo's `reset` does."""
        self.stop()
        shutil.rmtree(os.path.join(self.cluster.data_dir, "node-%d" % self.node_id), ignore_errors=True)

    def destroy(self):
        self.reset()

    def status(self):
        """The node's `/healthz` status, or None."""
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.http_port, timeout=2) as r:
                return json.loads(r.read())["status"]
        except urllib.error.HTTPError as e:  # 503: up, not serving
            try:
                return json.loads(e.read())["status"]
            except (ValueError, KeyError):
                return None
        except (OSError, ValueError, KeyError):
            return None

    def serving(self):
        s = self.status()
        return bool(s and s.get("serving"))

    def get_logs(self, num_lines=100):
        path = os.path.join(self.cluster.data_dir, "node-%d.log" % self.node_id)
        try:
            with open(path, errors="replace") as f:
                return ["node %d: %s" % (self.node_id, line) for line in f.readlines()[-num_lines:]]
        except OSError:
            return []


class ZabraCluster:
    """The running `zabra cluster`, as kazoo's `ZookeeperCluster` presents Java servers."""

    def __init__(self):
        self.offset = _env_int("ZABRA_PORT_OFFSET", 0)
        self.token = os.environ["ZABRA_TOKEN"]
        self.data_dir = os.environ["ZABRA_DATA_DIR"]
        self.supervisor = "http://127.0.0.1:%d" % (8080 + self.offset)
        self._servers = [ZabraServer(self, i) for i in range(1, _env_int("ZABRA_NODES", 3) + 1)]

    def __getitem__(self, k):
        return self._servers[k]

    def __iter__(self):
        return iter(self._servers)

    def control(self, node_id, action):
        url = "%s/nodes/%d/%s?token=%s" % (self.supervisor, node_id, action, self.token)
        req = urllib.request.Request(url, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()

    def quorum_running(self):
        return 2 * sum(1 for s in self if s.running) > len(self._servers)

    def start(self):
        """Start every stopped node, then wait until all of them serve."""
        for s in self:
            if not s.running:
                self.control(s.node_id, "restart")
                s._running = True
        for s in self:
            _wait_for(lambda: _port_open(s.client_port), PORT_LIMIT, "node %d listens" % s.node_id)
        _wait_for(lambda: all(s.serving() for s in self), SERVE_LIMIT, "every node serves")

    def stop(self):
        for s in self:
            s.stop()

    def terminate(self):
        """kazoo calls this after every test class: stop every node and clear its data, so
        the next class starts from a fresh cluster, as with Java servers."""
        for s in self:
            s.destroy()

    def reset(self):
        for s in self:
            s.reset()

    def get_logs(self):
        logs = []
        for s in self:
            logs += s.get_logs()
        return logs

    def get_ssl_client_configuration(self):
        raise RuntimeError("zabra has no TLS client port")


def _port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _wait_for(cond, limit, what):
    until = time.monotonic() + limit
    while time.monotonic() < until:
        if cond():
            return
        time.sleep(0.05)
    if not cond():
        raise RuntimeError("zabra harness: %s: not within %.0f s" % (what, limit))


CLUSTER = None


def get_global_cluster():
    global CLUSTER
    if CLUSTER is None:
        CLUSTER = ZabraCluster()
    return CLUSTER


def pytest_configure(config):
    kazoo.testing.harness.get_global_cluster = get_global_cluster


def pytest_unconfigure(config):
    # Clients that kazoo's tests leave open keep retrying the stopped cluster while Python
    # exits: silence them after the summary.
    logging.disable(logging.CRITICAL)


def pytest_collection_modifyitems(config, items):
    for item in items:
        name = item.nodeid.split("/")[-1]
        for prefix, reason in SKIPS.items():
            if name.startswith(prefix):
                item.add_marker(pytest.mark.skip(reason="zabra: " + reason))
