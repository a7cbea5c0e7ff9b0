"""Real ZooKeeper clients against a zabra cluster: kazoo 2.11 and its recipes.

Usage: python kazoo_recipes.py HOSTS [LEADER_KILL_URL]
HOSTS is ZooKeeper's connect string (127.0.0.1:P1,127.0.0.1:P2,...). Every wait is bounded;
the script exits non-zero on the first failure and prints 'N passed, 0 failed' at the end.
"""

import sys
import threading
import time
import urllib.request

from kazoo.client import KazooClient
from kazoo.exceptions import LockTimeout
from kazoo.recipe.barrier import Barrier, DoubleBarrier
from kazoo.recipe.counter import Counter
from kazoo.recipe.election import Election
from kazoo.recipe.lock import Lock
from kazoo.recipe.partitioner import SetPartitioner  # noqa: F401  (import check)
from kazoo.recipe.party import Party
from kazoo.recipe.queue import LockingQueue, Queue
from kazoo.recipe.watchers import ChildrenWatch, DataWatch
from kazoo_support import wait_for

HOSTS = sys.argv[1]
PASSED = []


def client(hosts=HOSTS):
    c = KazooClient(hosts=hosts, timeout=10.0, connection_retry={"max_tries": 20, "delay": 0.1, "max_delay": 1})
    c.start(timeout=15)
    return c


def check(name, cond, detail=""):
    if not cond:
        print(f"FAIL {name} {detail}", flush=True)
        print(f"{len(PASSED)} passed, 1 failed")
        sys.exit(1)
    PASSED.append(name)
    print(f"ok   {name}", flush=True)


def basics(zk):
    zk.ensure_path("/app/config")
    zk.set("/app/config", b"v1")
    data, stat = zk.get("/app/config")
    check("get/set", data == b"v1" and stat.version == 1, (data, stat))
    seq = zk.create("/app/item-", b"x", sequence=True)
    check("sequential", seq.startswith("/app/item-") and len(seq) == len("/app/item-") + 10, seq)
    eph = zk.create("/app/eph", b"e", ephemeral=True)
    check("ephemeral owner", zk.exists(eph).ephemeralOwner == zk.client_id[0])
    tx = zk.transaction()
    tx.create("/app/tx1", b"a")
    tx.set_data("/app/config", b"v2")
    results = tx.commit()
    check("transaction", len(results) == 2 and zk.get("/app/config")[0] == b"v2", results)
    check("children", sorted(zk.get_children("/app")) == sorted(["config", seq.split("/")[-1], "eph", "tx1"]))
    check("server version", zk.server_version()[:2] >= (3, 4), zk.server_version())


def watches(zk, other):
    seen = []
    DataWatch(zk, "/app/config", lambda data, stat: seen.append(data))
    other.set("/app/config", b"v3")
    check("DataWatch", wait_for(lambda: b"v3" in seen), seen)
    kids = []
    ChildrenWatch(zk, "/app", lambda c: kids.append(sorted(c)))
    other.create("/app/new-child", b"")
    check("ChildrenWatch", wait_for(lambda: any("new-child" in k for k in kids)), kids)


def lock_and_election(zk, other):
    lock = Lock(zk, "/locks/l1", "a")
    lock2 = Lock(other, "/locks/l1", "b")
    with lock:
        try:
            excluded = not lock2.acquire(timeout=0.5)
        except LockTimeout:
            excluded = True
        check("Lock excludes", excluded)
    check("Lock released", lock2.acquire(timeout=5))
    lock2.release()
    leaders = []
    e1 = Election(zk, "/election", "one")
    t = threading.Thread(target=lambda: e1.run(lambda: leaders.append("one") or time.sleep(0.3)), daemon=True)
    t.start()
    check("Election", wait_for(lambda: leaders == ["one"]), leaders)


def queues(zk, other):
    q = Queue(zk, "/queue")
    for i in range(5):
        q.put(f"m{i}".encode())
    other.sync("/queue")  # another server may lag: sync makes it catch up (ZooKeeper semantics)
    got = [Queue(other, "/queue").get() for _ in range(5)]
    check("Queue FIFO", got == [f"m{i}".encode() for i in range(5)], got)
    lq = LockingQueue(zk, "/lqueue")
    lq.put(b"job")
    lq2 = LockingQueue(other, "/lqueue")
    item = lq2.get(timeout=5)
    check("LockingQueue", item == b"job" and lq2.consume(), item)


def barriers_counter_party(zk, other):
    b = Barrier(zk, "/barrier")
    b.create()
    released = []
    threading.Thread(target=lambda: released.append(Barrier(other, "/barrier").wait(5)), daemon=True).start()
    time.sleep(0.3)
    b.remove()
    check("Barrier", wait_for(lambda: released == [True]), released)
    d1, d2 = DoubleBarrier(zk, "/dbarrier", 2), DoubleBarrier(other, "/dbarrier", 2)
    th = threading.Thread(target=d2.enter, daemon=True)
    th.start()
    d1.enter()
    th.join(10)
    check("DoubleBarrier enter", not th.is_alive())
    th = threading.Thread(target=d2.leave, daemon=True)
    th.start()
    d1.leave()
    th.join(10)
    check("DoubleBarrier leave", not th.is_alive())
    c = Counter(zk, "/counter")
    c += 5
    c2 = Counter(other, "/counter")
    c2 += 2
    zk.sync("/counter")
    check("Counter", Counter(zk, "/counter").value == 7)
    p = Party(zk, "/party", "alice")
    p.join()
    Party(other, "/party", "bob").join()
    zk.sync("/party")
    check("Party", sorted(Party(zk, "/party")) == ["alice", "bob"], list(Party(zk, "/party")))


def failover(zk, kill_url):
    zk.ensure_path("/failover")
    req = urllib.request.Request(kill_url, method="POST")
    urllib.request.urlopen(req, timeout=5).read()
    written = []

    def write():
        try:
            zk.create("/failover/after", b"x")
            written.append(True)
            return True
        except Exception:  # noqa: BLE001  (connection loss while the leader changes)
            time.sleep(0.2)
            return zk.exists("/failover/after") is not None

    check("write across leader failover", wait_for(write, 30))


def main():
    zk, other = client(), client()
    basics(zk)
    watches(zk, other)
    lock_and_election(zk, other)
    queues(zk, other)
    barriers_counter_party(zk, other)
    if len(sys.argv) > 2:
        failover(zk, sys.argv[2])
    zk.stop()
    other.stop()
    print(f"{len(PASSED)} passed, 0 failed")


main()
