"""A participant of kazoo_usecases.py in its own process, so that it can stall (SIGSTOP) or
die (SIGKILL) like a real one: it never closes its session, the session expires.

Usage: python kazoo_participant.py HOSTS NAME, then one command a line on stdin:
  lock PATH            kazoo Lock; answers `locked TOKEN` (the lock znode's czxid) once held
  party PATH           joins a Party as NAME; answers `joined`
  service PATH DATA    registers an ephemeral sequential instance; answers `registered NODE`
  elect PATH           runs an Election as NAME; answers `leader` once elected
  take PATH            takes an item of a LockingQueue without consuming it; answers `took ITEM`
  write                the write it would make to a fenced resource; answers `write TOKEN`
Its session timeout is the cluster's minimum (4 s), so an expiry comes soon.
"""

import logging
import sys
import threading

from kazoo.client import KazooClient
from kazoo.recipe.election import Election
from kazoo.recipe.lock import Lock
from kazoo.recipe.party import Party
from kazoo.recipe.queue import LockingQueue

HOSTS, NAME = sys.argv[1], sys.argv[2]
logging.getLogger("kazoo").setLevel(logging.ERROR)
zk = KazooClient(hosts=HOSTS, timeout=4.0, connection_retry={"max_tries": -1, "delay": 0.1, "max_delay": 1})
zk.start(timeout=15)
token = [None]
forever = threading.Event()


def say(line):
    print(line, flush=True)


def lock(path):
    lk = Lock(zk, path, NAME)
    lk.acquire(timeout=30)
    token[0] = zk.exists(f"{lk.path}/{lk.node}").czxid
    say(f"locked {token[0]}")


def lead():
    say("leader")
    forever.wait()


def command(words):
    op, args = words[0], words[1:]
    if op == "lock":
        threading.Thread(target=lock, args=args, daemon=True).start()
    elif op == "party":
        Party(zk, args[0], NAME).join()
        say("joined")
    elif op == "service":
        node = zk.create(f"{args[0]}/instance-", args[1].encode(), ephemeral=True, sequence=True, makepath=True)
        say(f"registered {node.rsplit('/', 1)[1]}")
    elif op == "elect":
        threading.Thread(target=Election(zk, args[0], NAME).run, args=(lead,), daemon=True).start()
    elif op == "take":
        say(f"took {LockingQueue(zk, args[0]).get(timeout=10).decode()}")
    elif op == "write":
        say(f"write {token[0]}")


say("connected")
for line in sys.stdin:
    if line.split():
        command(line.split())
