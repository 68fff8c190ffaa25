"""What a replica does not do, measured (chapter 02): notice a silent partition at once — it trusts its link until
`repl-timeout` — and enforce its own `maxmemory` — it evicts nothing and copies the master's evictions.

Both experiments change a setting or two for a few seconds and put them back (on an interrupt too).
"""

from __future__ import annotations

import os
import signal
import time

from ..core import fix
from ..core.errors import LabError
from ..servers import clients, sentinel
from ..servers import pair as servers
from ..state.keys import KeySchema
from .progress import progress


def silent_partition(freeze_s: float = 5.0, repl_timeout: int = 2, interval: float = 0.1):
    """Freeze the master (SIGSTOP: its connections stay open, nothing comes through — what a network that
    silently drops packets looks like to the replica) for `freeze_s` s, and watch the replica's INFO every
    `interval` s: its link stays `up` until `repl-timeout` s pass without a byte from the master, then `down`.
    The master is resumed (SIGCONT) and the replica reconnects. For the lesson, `repl-timeout` is lowered to
    `repl_timeout` on the replica (Redis' default: 60 s) and the master pings it every second (default 10 s),
    so that an idle link is not mistaken for a dead one; both are restored after."""
    import pandas as pd

    if not (1 <= repl_timeout <= 10 and repl_timeout + 1.5 <= freeze_s <= 30 and 0.01 <= interval <= 1):
        raise LabError("Give repl_timeout from 1 to 10 s and freeze_s at least repl_timeout + 1.5 s (at most 30 s).")
    if sentinel.started_once() and sentinel.down():  # they would fail the frozen master over after 1 s
        print(f"The sentinels were stopped first (they would promote the replica); {fix.command('up --sentinel')} "
              "starts them again.")  # fmt: skip
    master, replica = clients.client("master"), clients.client("replica", socket_timeout=2.0)
    saved_timeout = replica.config_get("repl-timeout")["repl-timeout"]
    saved_ping = master.config_get("repl-ping-replica-period")["repl-ping-replica-period"]
    pid = servers.pid("master")
    if pid is None:
        raise LabError(f"The lab's master is not running; start it with {fix.command('up')}.")
    rows = []
    try:
        replica.config_set("repl-timeout", repl_timeout)
        master.config_set("repl-ping-replica-period", 1)
        master.set(KeySchema().repl_probe(), "before the freeze")  # the replica's last byte from the master: now
        time.sleep(0.05)
        os.kill(pid, signal.SIGSTOP)
        start = time.perf_counter()
        steps = int(freeze_s / interval)
        for _ in progress(range(steps), desc="master frozen, replica watched", unit="samples"):
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
        master.delete(KeySchema().repl_probe())
    frame = pd.DataFrame(rows)
    frozen = frame[frame.master == "frozen"]
    down = frozen[frozen.link != "up"]
    frame.attrs.update(repl_timeout=repl_timeout, freeze_s=freeze_s,
                       up_for_s=float(down.t.min()) if len(down) else None,
                       relinked_s=float(frame[frame.master == "resumed"].t.max()) - freeze_s)  # fmt: skip
    return frame


def replica_ignores_maxmemory(keys: int = 200, value_bytes: int = 1000):
    """Give the replica a `maxmemory` below what it already holds, then write `keys` more keys on the master:
    a master would evict, the replica evicts nothing (`replica-ignore-maxmemory yes`, the default since 5.0)
    — it copies the master's writes and, were the master to evict, its DELs. Rows: before and after, with
    `INFO memory`'s figures. The replica's `maxmemory` is restored."""
    import pandas as pd

    if not (1 <= keys <= 100_000 and 1 <= value_bytes <= 100_000):
        raise LabError("Give keys from 1 to 100000 and value_bytes from 1 to 100000.")
    master, replica = clients.client("master"), clients.client("replica")
    saved = replica.config_get("maxmemory")["maxmemory"]
    schema = KeySchema()
    names = [schema.repl_fill(i) for i in range(keys)]

    def row(step: str) -> dict:
        memory, stats = replica.info("memory"), replica.info("stats")
        return {"step": step, "replica maxmemory": int(memory["maxmemory"]),
                "replica used_memory": int(memory["used_memory"]), "replica evicted_keys": int(stats["evicted_keys"]),
                "our keys on the master": int(master.exists(*names)),
                "our keys on the replica": int(replica.exists(*names))}  # fmt: skip

    try:
        rows = [row("before")]
        limit = rows[0]["replica used_memory"] // 2  # half of what it already holds
        replica.config_set("maxmemory", limit)
        rows.append(row(f"replica's maxmemory set to {limit // 1024} KB"))
        pipe = master.pipeline(transaction=False)
        for name in names:
            pipe.set(name, "x" * value_bytes)
        pipe.execute()
        master.wait(1, 2000)
        rows.append(row(f"{keys} keys of {value_bytes} bytes written on the master"))
    finally:
        replica.config_set("maxmemory", saved)
        for start in range(0, len(names), 1000):
            master.delete(*names[start : start + 1000])
    return pd.DataFrame(rows)
