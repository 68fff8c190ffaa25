"""Sentinel failover, measured: kill the master while a client keeps writing through `redis.sentinel`.

For each run: the writer writes `failover:<n>` every few milliseconds through a client that asks the
sentinels where the master is; the master is killed (`kill -9`); we note every write refused until the
promoted replica accepts one (the failover time, from the kill), then check which *acknowledged* writes
the new master has (the writes lost). With `use_wait`, a write counts as acknowledged only once `WAIT 1`
says the replica has it. `restore()` puts the lab's topology back (master on its port) between runs. Each
measurement returns a result that owns its checks (`Timeline`, `Failovers`, `Topology`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from ..cache.lookup import CacheAside, LookupResult
from ..core import fix
from ..core.errors import LabError
from ..core.i18n import N_, _, thousands
from ..core.marks import Mark, check
from ..servers import clients, sentinel
from ..servers import pair as servers
from ..servers.context import Lab
from ..state.credentials import REPLICATION_USER
from ..state.settings import conf_value
from .progress import progress
from .results import Measured, Rows


class _Rows(Rows):
    chapter = "06"


def _seconds(directive: str) -> float:
    return int(conf_value("sentinel.conf", f"sentinel {directive}")) / 1000


@dataclass(frozen=True)
class Failovers(_Rows):
    """Failovers under a write load, one row each: how long, writes refused, acknowledged, lost."""

    HEADERS = {"lag_s": N_("replica lag before the crash s")}

    def checks(self) -> list[Mark]:
        f = self.frame
        if f.lag_s.max() > 0:  # the replica made to lag: what WAIT keeps
            lost = {w: int(f[f["wait"] == w].writes_lost.sum()) for w in (False, True)}
            return [check("06.wait", _("WAIT: no acknowledged write lost"), lost[True] == 0,
                          _("without WAIT {without} lost, with WAIT {with_wait}").format(without=lost[False],
                                                                                        with_wait=lost[True]),
                          "lab.client().wait(1, 200)")]  # fmt: skip
        down_after, failover_timeout = _seconds("down-after-milliseconds"), _seconds("failover-timeout")
        limit = down_after + 3 * failover_timeout  # noticing, then at most one retried election
        took = f.failover_s
        figure = _("p50 {p50} s, min {fastest} s (down-after {down_after} s; limit {limit} s: an election retried "
                   "once)").format(p50=thousands(f"{took.median():.2f}"), fastest=thousands(f"{took.min():.2f}"),
                                   down_after=thousands(f"{down_after:g}"), limit=thousands(f"{limit:g}"))  # fmt: skip
        return [check("06.failover_time", _("Sentinel waited down-after-milliseconds, then promoted the replica (p50)"),
                      took.min() >= 0.9 * down_after and took.median() <= limit, figure,
                      "lab.sentinel.up()")]  # fmt: skip


@dataclass(frozen=True)
class Timeline(_Rows):
    """Lookups through `redis.sentinel` while the master is killed and replaced; `failover`: the writer's row
    of that same crash (how long, writes refused, acknowledged, lost), which `measure` can count as a run."""

    failover: dict | None = None

    def checks(self) -> list[Mark]:
        f = self.frame
        during = f[f.phase == "after the kill"]
        return [check("06.cache_answered", _("The cache kept answering during the failover, then used the new master"),
                      f.value.notna().all() and (during.cache == "unavailable").any() and f.cache.iloc[-1] == "hit",
                      _("{lookups} lookups, all answered; {from_db} from the database").format(
                          lookups=len(f), from_db=(during.cache == "unavailable").sum()),
                      "lab.sentinel.up()")]  # fmt: skip

    def summary(self):
        """Lookups per phase, source and cache state, with when they started and ended."""
        return self.frame.groupby(["phase", "source", "cache"], sort=False).agg(
            lookups=("t", "size"), first_t=("t", "min"), last_t=("t", "max")
        )


@dataclass(frozen=True)
class Topology(Measured):
    """The lab's two servers after the chapter: their roles and the replica's link."""

    statuses: tuple
    chapter = "06"

    @property
    def frame(self):
        import pandas as pd

        return pd.DataFrame([s.as_dict() for s in self.statuses]).set_index("role").drop(columns=["log"])

    def checks(self) -> list[Mark]:
        roles = [s.actual_role for s in self.statuses]
        return [check("06.topology", _("The lab's topology is back"),
                      roles == ["master", "slave"] and self.statuses[1].link_status == "up",
                      _("roles {roles}, link {link}").format(roles=roles, link=self.statuses[1].link_status),
                      "lab.up()")]  # fmt: skip


def restore(lab: Lab | None = None, sentinels: bool = True) -> Topology:
    """Back to the lab's topology: sentinels stopped, `lab.up()` (the master copies back from the promoted
    replica and takes its role again), then (unless `sentinels=False`) sentinels started afresh, watching
    the lab's master. Returns the two servers' status, which the chapter checks."""
    sentinel.down()
    servers.up()
    if sentinels:
        sentinel.up()
    return Topology(tuple(servers.status()))


class _Writer:
    """Writes `failover:<tag>:<n>` as fast as the interval allows through its own sentinel-aware client, in a thread;
    a write counts as acknowledged when the master answered OK — with `use_wait`, only once WAIT 1 says the replica
    has it too."""

    def __init__(self, lab: Lab, use_wait: bool, interval: float):
        _sentinels, self.master = sentinel.client_factory("admin", socket_timeout=0.3, socket_connect_timeout=0.3)
        self.lab, self.use_wait, self.interval = lab, use_wait, interval
        self.acked: list[int] = []
        self.refused = self.n = 0
        self.killed_at: float | None = None
        self.failover_s: float | None = None
        self.stop = threading.Event()

    def key(self, n: int) -> str:
        return self.lab.keys.failover_write(f"{'wait' if self.use_wait else 'plain'}:{n}")

    def write(self) -> bool:
        import redis

        self.n += 1
        try:
            self.master.set(self.key(self.n), self.n)
            if self.use_wait and self.master.wait(1, 200) < 1:
                return True  # done on the master, not confirmed by a replica: not counted as acknowledged
        except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError, redis.ResponseError):
            self.refused += 1
            return False
        self.acked.append(self.n)
        return True

    def run(self, timeout: float) -> None:
        """Write until the first write accepted after the kill (a new master is in place), or `timeout`."""
        while not self.stop.is_set():
            started = time.perf_counter()
            accepted = self.write()
            killed = self.killed_at
            if killed is not None and accepted and started > killed:  # (a write sent before the kill proves nothing)
                self.failover_s = time.perf_counter() - killed
                return
            if killed is not None and time.perf_counter() - killed > timeout:
                return
            time.sleep(self.interval)

    def lost(self, port: int) -> list[int]:
        """The acknowledged writes the new master on `port` does not have (and every key written, deleted)."""
        with clients.client_at(port) as c:
            pipe = c.pipeline(transaction=False)
            for k in self.acked:
                pipe.exists(self.key(k))
            present = pipe.execute()
            c.delete(*[self.key(k) for k in range(1, self.n + 1)])
        return [k for k, there in zip(self.acked, present, strict=True) if not there]


def run_once(
    lab: Lab,
    use_wait: bool | tuple[bool, ...] = False,
    lag_s: float = 0.0,
    warm_up_s: float = 0.2,
    interval: float = 0.002,
    timeout: float = 30.0,
    beside=None,
) -> dict | list[dict]:
    """One failover under a steady write load: what happened, a dict (or, given `use_wait=(False, True)`, one per
    writer: the two write side by side through the same crash, one without WAIT and one with it). `beside`, if
    given, is called right after the kill, while the writers go on (the cache's lookups through the same crash).

    `lag_s`: for that long before the crash, the replica's link is cut (as in chapter 02), so that writes
    the master acknowledged have not reached the replica when it dies — the case `WAIT` is for. With
    `lag_s=0` on loopback, little is ever in flight at the crash — rarely anything, never guaranteed."""
    if not all(r["state"] == "up" for r in sentinel.status()):
        raise LabError(
            _("The sentinels are not running; start them with {command}.").format(command=fix.command("up --sentinel"))
        )
    modes = use_wait if isinstance(use_wait, tuple) else (use_wait,)
    writers = [_Writer(lab, mode, interval) for mode in modes]
    threads = [threading.Thread(target=w.run, args=(timeout,), daemon=True, name="failover-writer") for w in writers]
    for thread in threads:
        thread.start()
    try:
        time.sleep(warm_up_s)
        killed_role = _role_of_current_master(lab)
        if lag_s > 0:
            with lab.client(killed_role) as c:
                c.execute_command("ACL", "SETUSER", REPLICATION_USER, "off")
                c.client_kill_filter(_type="replica")
            time.sleep(lag_s)
        killed_pid = servers.kill(killed_role)
        killed_at = time.perf_counter()
        for w in writers:
            w.killed_at = killed_at
        if beside is not None:
            beside()
        for thread in threads:
            thread.join(timeout + 5)
    finally:
        for w in writers:
            w.stop.set()
    if any(w.failover_s is None for w in writers):
        raise LabError(
            _(
                "No new master accepted writes within {timeout} s; see the sentinels' logs in the state directory."
            ).format(timeout=f"{timeout:.0f}")
        )
    new_master = sentinel.client_factory("admin")[0].discover_master(sentinel.MASTER_NAME)
    rows = [{"wait": w.use_wait, "lag_s": lag_s, "killed_pid": killed_pid, "failover_s": round(w.failover_s, 3),
             "writes_refused": w.refused, "writes_acknowledged": len(w.acked),
             "writes_lost": len(w.lost(new_master[1])),
             "killed_role": killed_role, "new_master_port": new_master[1]} for w in writers]  # fmt: skip
    return rows if isinstance(use_wait, tuple) else rows[0]


def _role_of_current_master(lab: Lab) -> str:
    """Which of the lab's two servers the sentinels call master now ("master" or "replica")."""
    s = lab.settings
    host, port = sentinel.client_factory("admin")[0].discover_master(sentinel.MASTER_NAME)
    return "master" if port == s.master_port else "replica"


def rejoin(lab: Lab, role: str, timeout: float = 15.0) -> None:
    """Start a killed server again as a replica of the current master, and wait until it is linked."""
    s = lab.settings
    servers.start_node(role)
    master_port = sentinel.client_factory("admin")[0].discover_master(sentinel.MASTER_NAME)[1]
    with lab.client(role) as c:
        c.execute_command("REPLICAOF", s.host, master_port)
        deadline = time.monotonic() + timeout
        while c.info("replication").get("master_link_status") != "up":
            if time.monotonic() > deadline:
                said = (_("The restarted master did not link to the new master; run {command}.") if role == "master"
                        else _("The restarted replica did not link to the new master; run {command}."))  # fmt: skip
                raise LabError(said.format(command=fix.command("up")))
            time.sleep(0.01)


def measure(
    lab: Lab, runs: int = 5, use_wait: bool = False, lag_s: float = 0.0, first: Timeline | None = None
) -> Failovers:
    """`runs` failovers in a row: after each, the killed server rejoins as a replica of the new master
    (the sentinels keep their view); `restore()` at the end gives the lab its usual topology back. `first`: a
    `lookups_through_failover` timeline whose crash (a writer wrote through it too) counts as the first run."""
    if runs < 1:
        raise LabError(_("runs must be at least 1, e.g. runs=5."))
    rows = [first.failover] if first is not None and first.failover is not None and not use_wait and not lag_s else []
    desc = _("failovers (with WAIT)") if use_wait else _("failovers (without WAIT)")
    for _run in progress(range(runs - len(rows)), desc=desc, unit=_("runs")):
        row = run_once(lab, use_wait, lag_s)
        rows.append(row)
        rejoin(lab, row["killed_role"])
    return Failovers(tuple(rows))


def lost_writes(lab: Lab, lag_s: float) -> Failovers:
    """One failover, two writers side by side through it — one without WAIT, one with it — the replica made to lag
    `lag_s` s before the crash: a row per writer."""
    if lag_s <= 0:
        raise LabError(_("lag_s must be positive, e.g. lag_s=0.3: without a lagging replica there is little to lose."))
    rows = run_once(lab, (False, True), lag_s)
    rejoin(lab, rows[0]["killed_role"])
    return Failovers(tuple(rows))


def lookups_through_failover(
    lab: Lab, db, key: str = "test-key", every: float = 0.1, timeout: float = 30.0
) -> Timeline:
    """The cache-aside lookup over `redis.sentinel`: one lookup every `every` s while the master is killed
    and replaced. Lookups keep answering (from the database while there is no master), then use the cache
    of the new master. A writer writes beside them (as in `measure`): the timeline's `failover` row."""
    _sentinels, app = sentinel.client_factory("app", socket_timeout=0.3, socket_connect_timeout=0.3)
    cache = CacheAside(db, client=app, lab=lab)
    cache.get(key)
    rows: list[dict] = []

    def look(t0: float, phase: str) -> LookupResult:
        result = cache.get(key)
        rows.append({"t": round(time.perf_counter() - t0, 2), "phase": phase, "value": result.value,
                     "source": result.source, "cache": result.cache_state,
                     "ms": round(result.elapsed_ms, 1)})  # fmt: skip
        return result

    def until_the_cache_is_back() -> None:
        while time.perf_counter() - t0 < timeout:
            if look(t0, "after the kill").cache_state == "hit":
                return
            time.sleep(every)

    t0 = time.perf_counter()
    look(t0, "before the kill")
    row = run_once(lab, beside=until_the_cache_is_back, timeout=timeout)  # a writer writes through the crash too
    rejoin(lab, row["killed_role"])
    return Timeline(tuple(rows), row)
