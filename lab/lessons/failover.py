"""Sentinel failover, measured: kill the master while a client keeps writing through `redis.sentinel`.

For each run: the writer writes `failover:<n>` every few milliseconds through a client that asks the
sentinels where the master is; the master is killed (`kill -9`); we note every write refused until the
promoted replica accepts one (the failover time, from the kill), then check which *acknowledged* writes
the new master has (the writes lost). With `use_wait`, a write counts as acknowledged only once `WAIT 1`
says the replica has it. `restore()` puts the lab's topology back (master on its port) between runs.
"""

from __future__ import annotations

import time

from ..cache.lookup import CacheAside, LookupResult
from ..core import fix
from ..core.errors import LabError
from ..servers import clients, sentinel
from ..servers import pair as servers
from ..state.credentials import REPLICATION_USER
from ..state.keys import KeySchema
from .progress import progress


def restore(sentinels: bool = True) -> None:
    """Back to the lab's topology: sentinels stopped, `lab.up()` (the master copies back from the promoted
    replica and takes its role again), then (unless `sentinels=False`) sentinels started afresh, watching
    the lab's master."""
    sentinel.down()
    servers.up()
    if sentinels:
        sentinel.up()


def run_once(
    use_wait: bool = False, lag_s: float = 0.0, writes_before: int = 100, interval: float = 0.002, timeout: float = 30.0
) -> dict:
    """One failover under a steady write load; a dict of what happened.

    `lag_s`: for that long before the crash, the replica's link is cut (as in chapter 02), so that writes
    the master acknowledged have not reached the replica when it dies — the case `WAIT` is for. With
    `lag_s=0` on loopback, little is ever in flight at the crash — rarely anything, never guaranteed."""
    import redis

    if not all(r["state"] == "up" for r in sentinel.status()):
        raise LabError(f"The sentinels are not running; start them with {fix.command('up --sentinel')}.")
    _, master = sentinel.client_factory("admin", socket_timeout=0.3, socket_connect_timeout=0.3)
    keys = KeySchema()
    acked: list[int] = []
    refused = 0
    n = 0

    def write() -> bool:
        nonlocal n, refused
        n += 1
        try:
            master.set(keys.failover_write(n), n)
            if use_wait and master.wait(1, 200) < 1:
                return True  # done on the master, not confirmed by a replica: not counted as acknowledged
        except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError, redis.ResponseError):
            refused += 1
            return False
        acked.append(n)
        return True

    for _ in range(writes_before):
        write()
        time.sleep(interval)
    killed_role = _role_of_current_master()
    if lag_s > 0:
        with clients.client(killed_role) as c:
            c.execute_command("ACL", "SETUSER", REPLICATION_USER, "off")
            c.client_kill_filter(_type="replica")
        cut_until = time.perf_counter() + lag_s
        while time.perf_counter() < cut_until:
            write()
            time.sleep(interval)
    killed_pid = servers.kill(killed_role)
    killed_at = time.perf_counter()
    while time.perf_counter() - killed_at < timeout:
        if write():  # the first write accepted after the kill: a new master is in place
            break
        time.sleep(interval)
    else:
        raise LabError(
            f"No new master accepted writes within {timeout:.0f} s; see the sentinels' logs in the state directory."
        )
    failover_s = time.perf_counter() - killed_at
    new_master = sentinel.client_factory("admin")[0].discover_master(sentinel.MASTER_NAME)
    with clients.client_at(new_master[1]) as c:
        pipe = c.pipeline(transaction=False)
        for k in acked:
            pipe.exists(keys.failover_write(k))
        present = pipe.execute()
        c.delete(*[keys.failover_write(k) for k in range(1, n + 1)])
    lost = [k for k, there in zip(acked, present) if not there]
    return {
        "wait": use_wait,
        "replica lag before the crash s": lag_s,
        "killed_pid": killed_pid,
        "failover_s": round(failover_s, 3),
        "writes_refused": refused,
        "writes_acknowledged": len(acked),
        "writes_lost": len(lost),
        "killed_role": killed_role,
        "new_master_port": new_master[1],
    }


def _role_of_current_master() -> str:
    """Which of the lab's two servers the sentinels call master now ("master" or "replica")."""
    from ..state import settings

    s = settings.load()
    host, port = sentinel.client_factory("admin")[0].discover_master(sentinel.MASTER_NAME)
    return "master" if port == s.master_port else "replica"


def rejoin(role: str, timeout: float = 15.0) -> None:
    """Start a killed server again as a replica of the current master, and wait until it is linked."""
    from ..state import settings

    s = settings.load()
    servers.start_node(role)
    master_port = sentinel.client_factory("admin")[0].discover_master(sentinel.MASTER_NAME)[1]
    with clients.client(role) as c:
        c.execute_command("REPLICAOF", s.host, master_port)
        deadline = time.monotonic() + timeout
        while c.info("replication").get("master_link_status") != "up":
            if time.monotonic() > deadline:
                raise LabError(f"The restarted {role} did not link to the new master; run {fix.command('up')}.")
            time.sleep(0.01)


def measure(runs: int = 5, use_wait: bool = False, lag_s: float = 0.0) -> list[dict]:
    """`runs` failovers in a row: after each, the killed server rejoins as a replica of the new master
    (the sentinels keep their view); `restore()` at the end gives the lab its usual topology back."""
    if runs < 1:
        raise LabError("runs must be at least 1, e.g. runs=5.")
    rows = []
    for _ in progress(range(runs), desc=f"failovers ({'with' if use_wait else 'without'} WAIT)", unit="runs"):
        row = run_once(use_wait, lag_s)
        rows.append(row)
        rejoin(row["killed_role"])
    return rows


def lookups_through_failover(db, key: str = "test-key", every: float = 0.1, timeout: float = 30.0) -> list[dict]:
    """The cache-aside lookup over `redis.sentinel`: one lookup every `every` s while the master is killed
    and replaced. Lookups keep answering (from the database while there is no master), then use the cache
    of the new master."""
    _, app = sentinel.client_factory("app", socket_timeout=0.3, socket_connect_timeout=0.3)
    cache = CacheAside(db, client=app)
    cache.get(key)
    rows: list[dict] = []

    def look(t0: float, phase: str) -> LookupResult:
        result = cache.get(key)
        rows.append({"t": round(time.perf_counter() - t0, 2), "phase": phase, "value": result.value,
                     "source": result.source, "cache": result.cache_state,
                     "ms": round(result.elapsed_ms, 1)})  # fmt: skip
        return result

    t0 = time.perf_counter()
    look(t0, "before the kill")
    killed_role = _role_of_current_master()
    servers.kill(killed_role)
    while time.perf_counter() - t0 < timeout:
        result = look(t0, "after the kill")
        if result.cache_state == "hit":
            break
        time.sleep(every)
    rejoin(killed_role)
    return rows
