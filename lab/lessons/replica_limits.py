"""What replication does not promise, measured (chapter 02): a replica does not notice a silent partition at
once — it trusts its link until `repl-timeout` — nor enforce its own `maxmemory` — it evicts nothing and copies
the master's evictions; a replica that stops and comes back resyncs (partially from the backlog, or in full
beyond it), a master killed is restarted from its append-only file, and a master that dies for good leaves a
replica that serves, is promoted by hand, and `lab.up()` heals the pair with every write (`lab.resync` is this
module too). Each measurement returns a result that owns its checks; the experiments that change a setting put
it back (on an interrupt too).
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

from ..core import fix
from ..core.errors import LabError
from ..core.i18n import N_, _, thousands
from ..core.marks import Mark, check
from ..servers import pair as servers
from ..servers import sentinel
from ..servers.context import Lab
from ..servers.nodes import pair_nodes
from ..state.keys import WORKSHOP_KEY
from .progress import progress
from .replication import require_up, sync_counters, wait_for_offsets
from .results import Measured


@dataclass(frozen=True)
class SilentPartition(Measured):
    """The replica's link as it saw it, sampled while the master was frozen, then after it resumed."""

    rows: tuple[dict, ...]
    repl_timeout: int
    freeze_s: float
    chapter = "02"
    HEADERS = {"last_io_s": "master_last_io_seconds_ago"}

    @property
    def frame(self):
        import pandas as pd

        return pd.DataFrame(list(self.rows))

    @property
    def up_for_s(self) -> float | None:
        """How long the replica said `up` while the master was frozen (None: it never said otherwise)."""
        down = [r["t"] for r in self.rows if r["master"] == "frozen" and r["link"] != "up"]
        return float(min(down)) if down else None

    @property
    def relinked_s(self) -> float:
        resumed = [r["t"] for r in self.rows if r["master"] == "resumed"]
        return float(max(resumed)) - self.freeze_s if resumed else float("nan")

    def __str__(self) -> str:
        if self.up_for_s is None:
            return _("The replica said link up for the whole {freeze} s freeze (repl-timeout {timeout} s): it never "
                     "noticed.").format(freeze=thousands(f"{self.freeze_s:g}"), timeout=self.repl_timeout)  # fmt: skip
        return _("The replica said link up for {up_for} s of the freeze (repl-timeout {timeout} s), then down; once "
                 "the master resumed, it was linked again {relinked} s later.").format(
            up_for=thousands(f"{self.up_for_s:.1f}"), timeout=self.repl_timeout,
            relinked=thousands(f"{self.relinked_s:.1f}"))  # fmt: skip

    def checks(self) -> list[Mark]:
        up_for = self.up_for_s
        figure = _("link up for {up_for} s of a {freeze} s freeze (repl-timeout {timeout} s); linked again "
                   "{relinked} s after the master resumed").format(
            up_for=thousands(str(up_for)), freeze=thousands(f"{self.freeze_s:g}"), timeout=self.repl_timeout,
            relinked=thousands(f"{self.relinked_s:.1f}"))  # fmt: skip
        return [check("02.silent_partition", _("A silent partition: the link says up until repl-timeout, then down"),
                      up_for is not None and up_for >= self.repl_timeout - 0.2 and self.rows[-1]["link"] == "up",
                      figure, "lab.replica_limits.silent_partition(ctx, 3.5, 1)")]  # fmt: skip


@dataclass(frozen=True)
class ReplicaMemory(Measured):
    """The replica's INFO memory before and after its maxmemory was put below what it holds and keys were written."""

    rows: tuple[dict, ...]
    chapter = "02"
    HEADERS = {"maxmemory": N_("replica maxmemory"), "used_memory": N_("replica used_memory"),
               "evicted_keys": N_("replica evicted_keys"), "on_master": N_("our keys on the master"),
               "on_replica": N_("our keys on the replica")}  # fmt: skip

    @property
    def frame(self):
        import pandas as pd

        return pd.DataFrame(list(self.rows))

    def checks(self) -> list[Mark]:
        before, filled = self.rows[0], self.rows[-1]
        figure = _("used_memory {used} KB over maxmemory {limit} KB; evicted_keys {evicted_before} → "
                   "{evicted_after}; {on_replica} of {on_master} keys there").format(
            used=filled["used_memory"] // 1024, limit=filled["maxmemory"] // 1024,
            evicted_before=before["evicted_keys"], evicted_after=filled["evicted_keys"],
            on_replica=filled["on_replica"], on_master=filled["on_master"])  # fmt: skip
        return [check("02.replica_memory", _("A replica evicts nothing over its maxmemory"),
                      filled["used_memory"] > filled["maxmemory"] and filled["evicted_keys"] == before["evicted_keys"]
                      and filled["on_replica"] == filled["on_master"] > 0,
                      figure, "lab.replica_limits.replica_ignores_maxmemory(ctx)")]  # fmt: skip


def silent_partition(lab: Lab, freeze_s: float = 5.0, repl_timeout: int = 2, interval: float = 0.1) -> SilentPartition:
    """Freeze the master (SIGSTOP: its connections stay open, nothing comes through — what a network that
    silently drops packets looks like to the replica) for `freeze_s` s, and watch the replica's INFO every
    `interval` s: its link stays `up` until `repl-timeout` s pass without a byte from the master, then `down`.
    The master is resumed (SIGCONT) and the replica reconnects. For the lesson, `repl-timeout` is lowered to
    `repl_timeout` on the replica (Redis' default: 60 s) and the master pings it every second (default 10 s),
    so that an idle link is not mistaken for a dead one; both are restored after."""
    # (the replica checks its timeout once a second: a freeze shorter than repl_timeout + 2.5 s may end unseen)
    if not (1 <= repl_timeout <= 10 and repl_timeout + 2.5 <= freeze_s <= 30 and 0.01 <= interval <= 1):
        raise LabError(_("Give repl_timeout from 1 to 10 s and freeze_s at least repl_timeout + 2.5 s (at most 30 s)."))
    if sentinel.started_once() and sentinel.down():  # they would fail the frozen master over after 1 s
        print(_("The sentinels were stopped first (they would promote the replica); {command} starts them "
                "again.").format(command=fix.command("up --sentinel")))  # fmt: skip
    master, replica = lab.client("master"), lab.client("replica", socket_timeout=2.0)
    saved_timeout = replica.config_get("repl-timeout")["repl-timeout"]
    saved_ping = master.config_get("repl-ping-replica-period")["repl-ping-replica-period"]
    pid = servers.pid("master")
    if pid is None:
        raise LabError(_("The lab's master is not running; start it with {command}.").format(command=fix.command("up")))
    rows = []
    try:
        replica.config_set("repl-timeout", repl_timeout)
        master.config_set("repl-ping-replica-period", 1)
        master.set(lab.keys.repl_probe(), "before the freeze")  # the replica's last byte from the master: now
        time.sleep(0.05)
        os.kill(pid, signal.SIGSTOP)
        start = time.perf_counter()
        steps = int(freeze_s / interval)
        for _step in progress(range(steps), desc=_("master frozen, replica watched"), unit=_("samples")):
            info = replica.info("replication")
            rows.append({"t": round(time.perf_counter() - start, 2), "master": "frozen",
                         "link": info.get("master_link_status"),
                         "last_io_s": info.get("master_last_io_seconds_ago")})  # fmt: skip
            time.sleep(max(0.0, start + len(rows) * interval - time.perf_counter()))
    finally:
        os.kill(pid, signal.SIGCONT)
    thawed = time.perf_counter()
    try:
        deadline = thawed + 10
        while time.perf_counter() < deadline:
            info = replica.info("replication")
            rows.append({"t": round(time.perf_counter() - start, 2), "master": "resumed",
                         "link": info.get("master_link_status"),
                         "last_io_s": info.get("master_last_io_seconds_ago")})  # fmt: skip
            if info.get("master_link_status") == "up" and rows[-2]["master"] == "resumed":
                break
            time.sleep(interval)
    finally:
        replica.config_set("repl-timeout", saved_timeout)
        master.config_set("repl-ping-replica-period", saved_ping)
        master.delete(lab.keys.repl_probe())
    return SilentPartition(tuple(rows), repl_timeout, freeze_s)


def replica_ignores_maxmemory(lab: Lab, keys: int = 200, value_bytes: int = 1000) -> ReplicaMemory:
    """Give the replica a `maxmemory` below what it already holds, then write `keys` more keys on the master:
    a master would evict, the replica evicts nothing (`replica-ignore-maxmemory yes`, the default since 5.0)
    — it copies the master's writes and, were the master to evict, its DELs. Rows: before and after, with
    `INFO memory`'s figures. The replica's `maxmemory` is restored."""
    if not (1 <= keys <= 100_000 and 1 <= value_bytes <= 100_000):
        raise LabError(_("Give keys from 1 to 100000 and value_bytes from 1 to 100000."))
    master, replica = lab.client("master"), lab.client("replica")
    saved = replica.config_get("maxmemory")["maxmemory"]
    names = [lab.keys.repl_fill(i) for i in range(keys)]

    def row(step: str) -> dict:
        memory, stats = replica.info("memory"), replica.info("stats")
        return {"step": step, "maxmemory": int(memory["maxmemory"]), "used_memory": int(memory["used_memory"]),
                "evicted_keys": int(stats["evicted_keys"]), "on_master": int(master.exists(*names)),
                "on_replica": int(replica.exists(*names))}  # fmt: skip

    try:
        rows = [row(_("before"))]
        limit = rows[0]["used_memory"] // 2  # half of what it already holds
        replica.config_set("maxmemory", limit)
        rows.append(row(_("replica's maxmemory set to {size} KB").format(size=limit // 1024)))
        pipe = master.pipeline(transaction=False)
        for name in names:
            pipe.set(name, "x" * value_bytes)
        pipe.execute()
        master.wait(1, 2000)
        written = _("{keys} keys of {value_bytes} bytes written on the master")
        rows.append(row(written.format(keys=keys, value_bytes=value_bytes)))
    finally:
        replica.config_set("maxmemory", saved)
        for start in range(0, len(names), 1000):
            master.delete(*names[start : start + 1000])
    return ReplicaMemory(tuple(rows))


COUNTERS = ("sync_full", "sync_partial_ok", "sync_partial_err")


@dataclass(frozen=True)
class Resync(Measured):
    """The master's sync counters before and after a replica came back; `kind` is what it had to be."""

    kind: str  # "partial" or "full"
    before: dict
    after: dict
    chapter = "02"

    @property
    def frame(self):
        import pandas as pd

        return pd.DataFrame({"before": self.before, "after": self.after})

    def checks(self) -> list[Mark]:
        counter = "sync_partial_ok" if self.kind == "partial" else "sync_full"
        title = _("Restart → partial resync") if self.kind == "partial" else _("Beyond the backlog → full resync")
        hint = "lab.resync.restart_replica(ctx)" if self.kind == "partial" else "lab.resync.resync_beyond_backlog(ctx)"
        return [check(f"02.{self.kind}_resync", title, self.after[counter] > self.before[counter],
                      f"{counter} {self.before[counter]} → {self.after[counter]}", hint)]  # fmt: skip


def _replica_dump(lab: Lab) -> None:
    """The snapshot SHUTDOWN SAVE leaves in the replica's folder served its purpose once loaded: remove it."""
    (pair_nodes(lab.settings)["replica"].data_dir / "dump.rdb").unlink(missing_ok=True)


def restart_replica(lab: Lab) -> Resync:
    """Stop the replica (SHUTDOWN SAVE keeps its replication ID and offset) and start it again: it resumes from
    the master's backlog, a partial resync."""
    require_up(lab)
    before = sync_counters(lab)
    servers.stop("replica", save=True)
    try:
        servers.up()
    finally:
        _replica_dump(lab)
    return Resync("partial", before, sync_counters(lab))


def resync_beyond_backlog(lab: Lab, backlog: str = "16kb", payload_bytes: int = 256 * 1024) -> Resync:
    """The same, but the master takes more writes than its (shrunk) backlog holds while the replica is away:
    the replica cannot resume and copies everything again, a full resync. The setting is restored."""
    require_up(lab)
    master = lab.client("master")
    original = master.config_get("repl-backlog-size")["repl-backlog-size"]
    before = sync_counters(lab)
    fills = [lab.keys.repl_fill(i) for i in range(8)]
    try:
        master.config_set("repl-backlog-size", backlog)
        servers.stop("replica", save=True)
        chunk = "x" * 4096
        pipe = master.pipeline(transaction=False)
        for i in range(payload_bytes // len(chunk) + 1):
            pipe.set(fills[i % 8], chunk)
        pipe.execute()
        servers.up()
    finally:
        master.config_set("repl-backlog-size", original)
        master.delete(*fills)
        _replica_dump(lab)
    return Resync("full", before, sync_counters(lab))


@dataclass(frozen=True)
class AofRestart(Measured):
    """Writes the master acknowledged, how many of them it still held after kill -9 and a restart from its AOF."""

    acknowledged: int
    survived: int
    restart_ms: int
    appendfsync: str
    chapter = "02"
    HEADERS = {"acknowledged": N_("writes acknowledged"), "survived": N_("still there after kill -9 + restart"),
               "restart_ms": N_("restart ms"), "appendfsync": "appendfsync"}  # fmt: skip

    @property
    def frame(self):
        import pandas as pd

        return pd.DataFrame([{k: getattr(self, k) for k in self.HEADERS}])

    def checks(self) -> list[Mark]:
        figure = _("{survived} of {acknowledged} writes there after a restart in {ms} ms (appendfsync {fsync})").format(
            survived=self.survived, acknowledged=self.acknowledged, ms=self.restart_ms, fsync=self.appendfsync
        )
        return [check("02.aof_restart", _("Master killed (-9) and restarted: its AOF kept every acknowledged write"),
                      self.acknowledged > 0 and self.survived == self.acknowledged, figure, "lab.up()")]  # fmt: skip


def aof_survives_a_kill(lab: Lab, writes: int = 1000) -> AofRestart:
    """Write `writes` keys on the master, kill it (-9: no goodbye, no snapshot), start it again: it replays its
    append-only file. How many acknowledged writes are still there (the replica resyncs from it)."""
    require_up(lab)
    master = lab.client("master")
    keys = [lab.keys.repl_aof(i) for i in range(writes)]
    pipe = master.pipeline(transaction=False)
    for key in keys:
        pipe.set(key, "acknowledged")
    acknowledged = sum(bool(ok) for ok in pipe.execute())
    fsync = master.config_get("appendfsync")["appendfsync"]
    servers.kill("master")
    start = time.perf_counter()
    servers.start_node("master")
    restart_ms = round((time.perf_counter() - start) * 1000)
    master = lab.client("master")
    survived = sum(found == "acknowledged" for found in master.mget(keys))
    master.delete(*keys)
    servers.up()  # the replica linked again before the next experiment
    wait_for_offsets(lab)
    return AofRestart(acknowledged, survived, restart_ms, fsync)


@dataclass(frozen=True)
class MasterFailure(Measured):
    """Each step of a killed master: what the replica said and served; how long `lab.up()` took to heal."""

    rows: tuple[dict, ...]
    heal_ms: int
    link_after: str | None
    chapter = "02"
    HEADERS = {"replica_role": N_("replica role"), "replica_link": N_("replica link"), "replica_get": N_("replica GET")}

    @property
    def frame(self):
        import pandas as pd

        return pd.DataFrame(list(self.rows))

    def checks(self) -> list[Mark]:
        reads = [row["replica_get"] for row in self.rows]
        return [check("02.master_killed", _("Master killed: replica served, promoted, and the lab healed with every "
                      "write"), reads[0] == "redis cool" and reads[-1] == "kept" and self.link_after == "up",
                      _("replica read {reads}; heal {ms} ms").format(reads=reads, ms=self.heal_ms),
                      "lab.up()")]  # fmt: skip


def master_failure(lab: Lab, key: str = WORKSHOP_KEY, value: str = "redis cool") -> MasterFailure:
    """Kill the master (kill -9), read from the replica, promote it by hand, write to it; then `lab.up()` restores
    the lab's topology and every write, and we time that."""
    require_up(lab)
    rows = []
    master, replica = lab.client("master"), lab.client("replica")
    promoted_key = lab.keys.repl_promoted_write()

    def note(step: str, read: str | None) -> None:
        info = replica.info("replication")
        rows.append({"step": step, "replica_role": info.get("role"), "replica_link": info.get("master_link_status", ""),
                     "replica_get": read})  # fmt: skip

    master.set(key, value)
    wait_for_offsets(lab)
    pid = servers.kill("master")
    deadline = time.monotonic() + 3
    while replica.info("replication").get("master_link_status") == "up" and time.monotonic() < deadline:
        time.sleep(0.01)  # the replica notices the closed connection
    note(_("master killed (pid {pid})").format(pid=pid), replica.get(key))
    replica.execute_command("REPLICAOF", "NO", "ONE")
    replica.set(promoted_key, "kept")
    note(_("replica promoted (REPLICAOF NO ONE), then written"), replica.get(promoted_key))
    start = time.perf_counter()
    rows_after = servers.up()
    healed = round((time.perf_counter() - start) * 1000)
    note(_("lab.up() restored the topology in {ms} ms").format(ms=healed), lab.client("master").get(promoted_key))
    lab.client("master").delete(promoted_key)
    return MasterFailure(tuple(rows), healed, rows_after[1].link_status)
