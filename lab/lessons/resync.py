"""A replica that stops and comes back (partial resync from the backlog, or a full one beyond it), a master
killed and restarted from its append-only file, and a master that dies for good (chapter 02): the replica serves,
is promoted by hand, and `lab.up()` heals the pair with every write.
Each measurement returns a result that owns its checks."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..core.i18n import N_, _
from ..core.marks import Mark, check
from ..servers import pair as servers
from ..servers.context import Lab
from ..servers.nodes import pair_nodes
from ..state.keys import WORKSHOP_KEY
from .replication import require_up, sync_counters, wait_for_offsets
from .results import Measured

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
