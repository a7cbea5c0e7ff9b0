"""Writes with a real ZooKeeper client for the browser tests (www/e2e/mixed.mjs): kazoo 2.11.

Usage: python kazoo_writes.py HOSTS N PREFIX
Connects to HOSTS (ZooKeeper's connect string, 127.0.0.1:P1,...), creates PREFIX-1 ..
PREFIX-N (persistent, data "kazoo-I"), reads each back, and prints one JSON line
{"paths": [...], "zxids": ["0x...", ...], "ms": [...]}: each znode's czxid as the nodes show zxids (the
epoch in hex, then the counter in 8 hex digits), so the caller can wait for a browser peer's
committed zxid to reach them, and how long each create took until its reply (ms, client side).
Every wait is bounded; exits non-zero on any failure.
"""

import json
import sys
import time

from kazoo.client import KazooClient


def zxid_text(z):
    return f"0x{z >> 32:x}{z & 0xFFFFFFFF:08x}"


def main():
    hosts, n, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    c = KazooClient(hosts=hosts, timeout=10.0, connection_retry={"max_tries": 20, "delay": 0.1, "max_delay": 1})
    c.start(timeout=15)
    try:
        paths, zxids, ms = [], [], []
        for i in range(1, n + 1):
            t0 = time.perf_counter()
            path = c.create(f"{prefix}-{i}", f"kazoo-{i}".encode())
            ms.append(round((time.perf_counter() - t0) * 1000, 1))
            data, stat = c.get(path)
            if data != f"kazoo-{i}".encode():
                raise SystemExit(f"read back {path}: {data!r}")
            paths.append(path)
            zxids.append(zxid_text(stat.czxid))
        print(json.dumps({"paths": paths, "zxids": zxids, "ms": ms}), flush=True)
    finally:
        c.stop()
        c.close()


if __name__ == "__main__":
    main()
