"""ZooKeeper's coordination use cases with kazoo's recipes, unchanged, against a zabra cluster,
with crashes where the use case is about failure. Each check states the outcome it verifies.

Usage: python kazoo_usecases.py HOSTS SUPERVISOR_URL TOKEN
HOSTS is the connect string of the cluster's nodes 1..n in order; SUPERVISOR_URL the `zabra
cluster` supervisor (kill/restart a node); TOKEN its admin token. Every wait is bounded; the
first failure names its use case and ends the run with a non-zero status. Nodes it kills are
restarted before it ends.

A participant that crashes runs in its own process (kazoo_participant.py): "carol" is at once
a group member, a service instance, the elected leader, a queue consumer and a lock holder;
she stalls (SIGSTOP, like a long GC pause) and every recipe moves on when her session expires,
while a fencing token keeps her late write out once she resumes.
"""

import os
import sys
import threading
import time

from kazoo.exceptions import LockTimeout
from kazoo.recipe.barrier import DoubleBarrier
from kazoo.recipe.election import Election
from kazoo.recipe.lock import Lock, ReadLock, WriteLock
from kazoo.recipe.party import Party
from kazoo.recipe.queue import LockingQueue
from kazoo.recipe.watchers import ChildrenWatch, DataWatch
from kazoo_support import PASSED, Cluster, Participant, check, client, thread, wait_for

ROOT = "/usecases"


def versions(log):
    def seen(data, stat):
        if stat is not None and (not log or log[-1] != stat.version):
            log.append(stat.version)

    return seen


def configuration(cl):
    """Publish/subscribe: a config znode, subscribers watching it with DataWatch."""
    path = f"{ROOT}/config"
    pub = client(cl.hosts, first=cl.host(cl.leader()))
    pub.create(path, b"v0", makepath=True)
    sub_node = cl.follower()
    subs = [client(cl.hosts, first=cl.host(sub_node)), client(cl.hosts)]
    seen = [[], []]
    for s, log in zip(subs, seen):
        DataWatch(s, path, versions(log))
    for v in range(1, 6):
        pub.set(path, f"v{v}".encode())
        wait_for(lambda: all(log and log[-1] == v for log in seen))
    every = all(log == list(range(6)) for log in seen)
    check("configuration: 2 subscribers saw every one of 5 updates, in order", every, seen)
    cl.kill(sub_node)
    pub.retry(pub.set, path, b"v6")
    moved = wait_for(lambda: seen[0][-1] == 6, 20)
    name = f"configuration: the subscriber on node {sub_node} (a follower, killed) moves and sees the next update"
    check(name, moved and cl.node_of(subs[0]) != sub_node, seen[0])
    check(f"cluster: node {sub_node} restarted and serving", cl.restart(sub_node))
    for c in [pub] + subs:
        c.stop()


def naming(cl, zk):
    """Unique names from sequential znodes, 3 clients asking at once."""
    zk.ensure_path(f"{ROOT}/names")
    clients = [zk, client(cl.hosts), client(cl.hosts)]
    names = [[] for _ in clients]

    def make(c, out):
        for _ in range(20):
            out.append(c.create(f"{ROOT}/names/job-", b"", sequence=True))

    for t in [thread(make, c, out) for c, out in zip(clients, names)]:
        t.join(30)
    numbers = sorted(int(n[-10:]) for out in names for n in out)
    check("naming: 60 names from 3 concurrent clients are unique (sequence 0..59)", numbers == list(range(60)), numbers)
    check("naming: each client's names increase in the order it asked", all(out == sorted(out) for out in names))
    for c in clients[1:]:
        c.stop()


def pick_all(consumer, path, live, n):
    """A round-robin client: `n` requests, each to the next live instance (its address)."""
    picks = []
    for i in range(n):
        kids = sorted(live)
        if kids:
            picks.append(consumer.retry(consumer.get, f"{path}/{kids[i % len(kids)]}")[0].decode())
    return picks


def discovery(cl, zk, carol):
    """Service discovery and load balancing: ephemeral instances, a ChildrenWatch, round robin."""
    path = f"{ROOT}/services/web"
    zk.ensure_path(path)
    consumer_node = cl.follower()
    consumer = client(cl.hosts, first=cl.host(consumer_node))
    live = set()

    def follow(children):
        live.clear()
        live.update(children)

    ChildrenWatch(consumer, path, follow)
    instances = [client(cl.hosts), client(cl.hosts)]
    for i, c in enumerate(instances, 1):
        c.create(f"{path}/instance-", f"127.0.0.1:900{i}".encode(), ephemeral=True, sequence=True)
    carol.ask(f"service {path} 127.0.0.1:9003", "registered")
    check("discovery: the consumer's ChildrenWatch lists the 3 registered instances", wait_for(lambda: len(live) == 3))
    picks = pick_all(consumer, path, live, 6)
    every = sorted(set(picks)) == [f"127.0.0.1:900{i}" for i in (1, 2, 3)]
    check("load balancing: 6 requests spread round robin over the 3 live instances", every, picks)
    instances[0].stop()
    gone = wait_for(lambda: len(live) == 2, 5) and "127.0.0.1:9001" not in pick_all(consumer, path, live, 4)
    check("discovery: an instance that shuts down leaves the list; requests go to the others", gone, live)
    cl.kill(consumer_node)
    instances[0] = client(cl.hosts)
    instances[0].create(f"{path}/instance-", b"127.0.0.1:9004", ephemeral=True, sequence=True)
    seen = wait_for(lambda: len(live) == 3, 20) and "127.0.0.1:9004" in pick_all(consumer, path, live, 3)
    check(f"discovery: the consumer's server (node {consumer_node}) killed, it still follows a new instance", seen, live)
    check(f"cluster: node {consumer_node} restarted and serving", cl.restart(consumer_node))
    return consumer, live


def membership(cl, zk, carol):
    """Group membership with kazoo's Party: ephemeral members."""
    path = f"{ROOT}/party"
    alice, bob = client(cl.hosts), client(cl.hosts)
    Party(alice, path, "alice").join()
    Party(bob, path, "bob").join()
    carol.ask(f"party {path}", "joined")
    zk.sync(path)
    check("membership: 3 members joined", sorted(Party(zk, path)) == ["alice", "bob", "carol"], list(Party(zk, path)))
    bob.stop()
    left = wait_for(lambda: sorted(Party(zk, path)) == ["alice", "carol"], 5)
    check("membership: a member whose session closes leaves the group at once", left, list(Party(zk, path)))
    return alice


def election(cl, carol):
    """Leader election with kazoo's Election (a Lock: each candidate watches its predecessor)."""
    path = f"{ROOT}/election"
    first, third = client(cl.hosts), client(cl.hosts)
    leaders = []

    def lead(name):
        leaders.append(name)
        threading.Event().wait(120)

    thread(Election(first, path, "first").run, lead, "first")
    check("election: the first candidate leads", wait_for(lambda: leaders == ["first"]), leaders)
    carol.send(f"elect {path}")
    wait_for(lambda: len(Election(first, path).contenders()) == 2)
    thread(Election(third, path, "third").run, lead, "third")
    wait_for(lambda: len(Election(first, path).contenders()) == 3)
    first.stop()
    won = carol.expect("leader", 10) is not None
    check("election: the leader's session closes, the next candidate (carol, another process) wins", won)
    check("election: the third candidate still waits", leaders == ["first"], leaders)
    return leaders


def try_acquire(lock, seconds):
    try:
        return lock.acquire(timeout=seconds)
    except LockTimeout:
        return False


def mutual_exclusion(cl, zk):
    """kazoo's Lock: 3 clients increment a counter znode (read, then write) under the lock."""
    path, counter = f"{ROOT}/lock", f"{ROOT}/counter"
    zk.create(counter, b"0", makepath=True)
    clients = [client(cl.hosts) for _ in range(3)]
    inside, most, guard = [0], [0], threading.Lock()

    def work(c, name):
        for _ in range(3):
            with Lock(c, path, name):
                with guard:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                value = int(c.get(counter)[0])
                time.sleep(0.02)
                c.set(counter, str(value + 1).encode())
                with guard:
                    inside[0] -= 1

    for t in [thread(work, c, f"c{i}") for i, c in enumerate(clients)]:
        t.join(30)
    zk.sync(counter)
    total = int(zk.get(counter)[0])
    check("lock: 3 clients x 3 critical sections, never two inside, no lost update", most[0] == 1 and total == 9, (most, total))
    return clients


def read_write(clients, zk):
    """kazoo's ReadLock/WriteLock: readers share, a writer excludes and is not starved."""
    path = f"{ROOT}/rwlock"
    r1, r2 = ReadLock(clients[0], path, "r1"), ReadLock(clients[1], path, "r2")
    check("read lock: two readers hold it together", r1.acquire(timeout=5) and r2.acquire(timeout=5))
    w, wrote = WriteLock(clients[2], path, "w"), []
    thread(lambda: wrote.append(w.acquire(timeout=20)))
    wait_for(lambda: len(w.contenders()) == 3)
    late = ReadLock(zk, path, "r3")
    check("write lock: the writer waits for the readers; a later reader waits behind the writer", not try_acquire(late, 0.5) and not wrote)
    r1.release()
    one_left = not wait_for(lambda: wrote, 0.3)
    r2.release()
    check("write lock: the writer gets it once both readers released", one_left and wait_for(lambda: wrote == [True]), wrote)
    w.release()
    check("read lock: the later reader gets it after the writer", try_acquire(late, 5))
    late.release()


def lock_across_leader_failure(cl, clients):
    """A lock held while the zabra leader dies: sessions, and so the lock, survive."""
    path = f"{ROOT}/lock-failover"
    holder, waiter, got = Lock(clients[0], path, "holder"), Lock(clients[1], path, "waiter"), []
    check("lock: acquired before the failover", holder.acquire(timeout=5))
    thread(lambda: got.append(waiter.acquire(timeout=40)))
    wait_for(lambda: len(holder.contenders()) == 2)
    old = cl.leader()
    cl.kill(old)
    new = cl.leader(30)
    node = f"{path}/{holder.node}"
    held = new not in (None, old) and clients[0].retry(clients[0].exists, node) is not None and not got
    check(f"lock: the leader (node {old}) killed, node {new} leads; the lock stays held, the waiter waits", held, got)
    holder.release()
    check("lock: released after the failover, it passes to the waiter", wait_for(lambda: got == [True], 20), got)
    waiter.release()
    check(f"cluster: node {old} restarted and serving", cl.restart(old))


def queue(cl, zk, carol):
    """kazoo's LockingQueue: items taken in order, each consumed once."""
    path = f"{ROOT}/jobs"
    LockingQueue(zk, path).put_all([f"job-{i:02}".encode() for i in range(10)])
    check("queue: the first consumer (carol) takes the first item", carol.ask(f"take {path}", "took") == "job-00")
    consumers, logs = [client(cl.hosts), client(cl.hosts)], [[], []]

    def consume(c, log):
        q = LockingQueue(c, path)
        item = q.get(timeout=2)
        while item is not None:
            log.append(item.decode())
            q.consume()
            item = q.get(timeout=2)

    for t in [thread(consume, c, log) for c, log in zip(consumers, logs)]:
        t.join(40)
    rest = sorted(logs[0] + logs[1]) == [f"job-{i:02}" for i in range(1, 10)]
    check("queue: 2 consumers take the other 9 items, each in order, none twice", rest and all(log == sorted(log) for log in logs), logs)
    q = LockingQueue(consumers[0], path)
    q.put(b"routine")
    q.put(b"urgent", priority=1)
    urgent = q.get(timeout=5) == b"urgent" and q.consume()
    check("queue: a lower priority number is taken first", urgent and q.get(timeout=5) == b"routine" and q.consume())
    for c in consumers:
        c.stop()


def double_barrier(cl):
    """kazoo's DoubleBarrier for 3: nobody computes before all entered, or leaves before all
    are done."""
    path = f"{ROOT}/dbarrier"
    clients = [client(cl.hosts) for _ in range(3)]
    entered, left, done = [], [], [threading.Event() for _ in clients]

    def member(i):
        b = DoubleBarrier(clients[i], path, 3)
        b.enter()
        entered.append(i)
        done[i].wait(20)
        b.leave()
        left.append(i)

    thread(member, 0)
    thread(member, 1)
    check("double barrier: 2 of 3 arrived, nobody entered", not wait_for(lambda: entered, 0.5))
    thread(member, 2)
    check("double barrier: the 3rd arrival lets all 3 in", wait_for(lambda: len(entered) == 3))
    done[0].set()
    done[1].set()
    check("double barrier: 2 of 3 done, nobody left", not wait_for(lambda: left, 0.5))
    done[2].set()
    check("double barrier: the last one done lets all 3 leave", wait_for(lambda: len(left) == 3), left)
    for c in clients:
        c.stop()


class Fenced:
    """A stand-in for a storage service outside ZooKeeper that accepts a write only with a
    fencing token at least as large as any it has seen (Kleppmann; Jepsen on etcd locks)."""

    def __init__(self):
        self.highest = 0

    def write(self, token):
        if token < self.highest:
            return False
        self.highest = token
        return True


def carol_stalls(cl, zk, carol, consumer, live, leaders):
    """Carol stalls (SIGSTOP) while holding a lock with a waiter behind her, leading the
    election, taking a queue item, registered as a service and a group member."""
    path = f"{ROOT}/fenced-lock"
    answer = carol.ask(f"lock {path}", "locked")
    check("lock: carol (another process) acquires the fenced lock", answer is not None)
    token, store, waiter, got = int(answer), Fenced(), client(cl.hosts), []
    check("fencing: the holder's write with its token (the lock znode's czxid) is accepted", store.write(token))
    lock = Lock(waiter, path, "next")
    thread(lambda: got.append(lock.acquire(timeout=30)))
    wait_for(lambda: len(lock.contenders()) == 2)
    carol.pause()
    moved = wait_for(lambda: got == [True], 25)
    check("lock: the holder stalls, its session expires, the next in line gets the lock", moved, got)
    new = waiter.exists(f"{path}/{lock.node}").czxid
    check("fencing: the new holder's token is larger and its write accepted", new > token and store.write(new), (token, new))
    check("election: the stalled leader's session expires, the next candidate leads", wait_for(lambda: leaders == ["first", "third"]), leaders)
    zk.sync(f"{ROOT}/party")
    check("membership: a stalled member leaves the group when its session expires", sorted(Party(zk, f"{ROOT}/party")) == ["alice"])
    gone = wait_for(lambda: len(live) == 2) and "127.0.0.1:9003" not in pick_all(consumer, f"{ROOT}/services/web", live, 4)
    check("discovery: a stalled instance leaves the list; requests go to the live ones", gone, live)
    item = LockingQueue(zk, f"{ROOT}/jobs").get(timeout=10)
    check("queue: the item the stalled consumer took goes to another consumer", item == b"job-00", item)
    carol.resume()
    late = carol.ask("write", "write")
    rejected = late == str(token) and not store.write(int(late))
    check("fencing: resumed, the old holder still writes with its old token; the store rejects it", rejected, late)
    carol.crash()
    waiter.stop()


def use_case(name, fn, *args):
    """Runs one use case; an exception (a kazoo timeout, say) fails it by name."""
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001
        check(f"{name}: raised {e!r}", False)


def main():
    hosts, supervisor, token = sys.argv[1:4]
    began = time.time()
    cl = Cluster(hosts, supervisor, token)
    zk = client(cl.hosts)
    if zk.exists(ROOT):
        zk.delete(ROOT, recursive=True)
    carol = Participant(cl.hosts, "carol")
    use_case("configuration", configuration, cl)
    use_case("naming", naming, cl, zk)
    consumer, live = use_case("discovery", discovery, cl, zk, carol)
    use_case("membership", membership, cl, zk, carol)
    leaders = use_case("election", election, cl, carol)
    clients = use_case("lock", mutual_exclusion, cl, zk)
    use_case("read/write lock", read_write, clients, zk)
    use_case("lock across a leader failure", lock_across_leader_failure, cl, clients)
    use_case("queue", queue, cl, zk, carol)
    use_case("double barrier", double_barrier, cl)
    use_case("a participant stalls", carol_stalls, cl, zk, carol, consumer, live, leaders)
    print(f"kazoo use cases: {len(PASSED)} passed, 0 failed in {time.time() - began:.0f} s", flush=True)
    os._exit(0)  # kazoo threads of stopped recipes need not be joined


main()
