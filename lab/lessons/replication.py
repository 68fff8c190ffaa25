"""Replication, shown and measured: status, read-only, lag, WAIT, partial vs full resync, master failure.

Every experiment is bounded in time and leaves the lab as `lab.up()` wants it (on an interrupt too: the
`finally` blocks restore settings, and `lab.up()` heals whatever a kill left behind).
"""

from __future__ import annotations

import threading
import time

from ..core import fix
from ..core.errors import LabError
from ..core.text import plural
from ..servers import clients
from ..servers import pair as servers
from ..servers.nodes import pair_nodes
from ..state import settings
from ..state.keys import WORKSHOP_KEY, KeySchema
from .progress import progress

STATUS_FIELDS = ["actual_role", "link", "master_repl_offset", "replica_offset", "byte_lag", "last_io_s",
                 "sync_full", "sync_partial_ok", "sync_partial_err"]  # fmt: skip


def _require_up() -> None:
    if not servers.is_up():
        raise LabError(f"The lab is not running (or its replica is not linked); start it with {fix.command('up')}.")


def status_table():
    """Both servers' INFO replication and their sync counters (INFO stats), one row per server."""
    import pandas as pd

    s = settings.load()
    rows = {}
    master_offset = None
    for role in clients.ROLES:
        try:
            with clients.client(role, s=s, socket_connect_timeout=0.5) as c:
                pipe = c.pipeline(transaction=False)
                pipe.info("replication")
                pipe.info("stats")
                repl, stats = pipe.execute()
        except LabError:
            raise
        except Exception:  # a server that is down is a row that says so
            rows[role] = {"actual_role": "down"}
            continue
        if role == "master":
            master_offset = repl.get("master_repl_offset")
        replica_offset = repl.get("slave_repl_offset")
        rows[role] = {
            "actual_role": repl.get("role"),
            "link": repl.get("master_link_status", plural(int(repl.get("connected_slaves", 0)), "replica")),
            "master_repl_offset": repl.get("master_repl_offset"),
            "replica_offset": replica_offset,
            "byte_lag": None if replica_offset is None or master_offset is None else master_offset - replica_offset,
            "last_io_s": repl.get("master_last_io_seconds_ago"),
            "sync_full": stats.get("sync_full"),
            "sync_partial_ok": stats.get("sync_partial_ok"),
            "sync_partial_err": stats.get("sync_partial_err"),
        }
    return pd.DataFrame.from_dict(rows, orient="index").reindex(columns=STATUS_FIELDS)


def sync_counters() -> dict[str, int]:
    """The master's full and partial resync counters."""
    with clients.explained("master"), clients.client("master") as c:
        stats = c.info("stats")
    return {k: int(stats[k]) for k in ("sync_full", "sync_partial_ok", "sync_partial_err")}


def write_to_replica(key: str = WORKSHOP_KEY, value: str = "written on the replica") -> str:
    """Try a write on the replica: the READONLY error it answers, as text (the lesson, not a crash)."""
    import redis

    with clients.explained("replica"), clients.client("replica") as c:
        try:
            c.set(key, value)
        except redis.ReadOnlyError as exc:
            return f"READONLY {exc}"
    return "the write was accepted: replica-read-only is off"


def replica_config_still_works() -> dict[str, str]:
    """Read-only is about data, not security: CONFIG (an admin command) still works on the replica."""
    with clients.explained("replica"), clients.client("replica") as c:
        return c.config_get("replica-read-only") | c.config_get("maxmemory")


def wait_for_offsets(timeout: float = 5.0) -> bool:
    """Wait until the replica has acknowledged everything the master wrote (WAIT 1)."""
    with clients.explained("master"), clients.client("master") as c:
        return c.wait(1, int(timeout * 1000)) >= 1


def time_to_visible(samples: int = 500, timeout: float = 1.0):
    """For each write on the master, when a separate connection polling the replica first saw it.

    Rows: sample, `rtt_us` (the SET's own round trip, measured alongside), `visible_us` (from sending the
    SET to the poller's first read that returned it), `poll_us` (the poller's round trip: the resolution).
    """
    import pandas as pd

    if samples < 1:
        raise LabError("samples must be at least 1, e.g. samples=500.")
    _require_up()
    master, replica = clients.client("master"), clients.client("replica")
    master.set(KeySchema().repl_probe(), -1)
    seen: dict[int, float] = {}
    polls: list[float] = []
    wanted = [(-1, threading.Event())]  # (the value awaited, its event): replaced whole, read once per poll
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            target, event = wanted[0]
            before = time.perf_counter()
            value = replica.get(KeySchema().repl_probe())
            now = time.perf_counter()
            polls.append(now - before)
            if value is not None and int(value) == target and target not in seen:
                seen[target] = now
                event.set()

    poller = threading.Thread(target=poll, daemon=True, name="replica-poller")
    poller.start()
    rows = []
    try:
        for i in progress(range(samples), desc="time to visible", unit="writes"):
            event = threading.Event()
            wanted[0] = (i, event)
            sent = time.perf_counter()
            master.set(KeySchema().repl_probe(), i)
            acked = time.perf_counter()
            if not event.wait(timeout) or i not in seen:
                continue  # not seen within the timeout: left out, and counted below
            rows.append({"sample": i, "rtt_us": (acked - sent) * 1e6, "visible_us": (seen[i] - sent) * 1e6})
    finally:
        stop.set()
        poller.join(2)
        master.delete(KeySchema().repl_probe())
    frame = pd.DataFrame(rows, columns=["sample", "rtt_us", "visible_us"])
    frame.attrs["poll_p50_us"] = sorted(polls)[len(polls) // 2] * 1e6 if polls else None
    frame.attrs["lost"] = samples - len(rows)
    return frame


def stale_reads(link_down_s: float = 1.0, interval: float = 0.02, catch_up_s: float = 3.0):
    """Cut the replica's link for `link_down_s` s (as a network partition would) while the master keeps
    taking writes; then let it reconnect and catch up.

    The cut: the master disables the `replication` user and drops the replica's connection, so the replica
    cannot log in again; it stays a replica and keeps answering reads with what it has (stale,
    `replica-serve-stale-data yes`). Re-enabling the user ends the partition: the replica reconnects (its
    retry runs once a second) and resumes from the master's backlog. Every `interval` s: a write on the
    master, a read on the replica, both offsets.
    """
    import pandas as pd

    from ..state.credentials import REPLICATION_USER

    if link_down_s <= 0 or interval <= 0 or catch_up_s <= 0:
        raise LabError("link_down_s, interval and catch_up_s must be positive (e.g. 1.0, 0.02, 3.0).")
    _require_up()
    master, replica = clients.client("master"), clients.client("replica")
    master.set(KeySchema().repl_probe(), 0)
    wait_for_offsets()
    rows = []
    start = time.perf_counter()
    written = 0
    try:
        master.execute_command("ACL", "SETUSER", REPLICATION_USER, "off")
        master.client_kill_filter(_type="replica")
        restored = False
        deadline = start + link_down_s + catch_up_s
        steps = int((link_down_s + catch_up_s) / interval) + 1
        for _ in progress(range(steps), desc="partition, then catch-up", unit="samples"):
            now = time.perf_counter() - start
            if not restored and now >= link_down_s:
                master.execute_command("ACL", "SETUSER", REPLICATION_USER, "on")
                restored = True
            written += 1
            master.set(KeySchema().repl_probe(), written)
            m_offset = master.info("replication")["master_repl_offset"]
            r_info = replica.info("replication")
            seen = replica.get(KeySchema().repl_probe())
            rows.append({
                "t": now, "link cut": not restored, "written": written,
                "replica reads": int(seen) if seen is not None else None,
                "master offset": m_offset, "replica offset": r_info.get("slave_repl_offset"),
                "link": r_info.get("master_link_status"),
            })  # fmt: skip
            if restored and r_info.get("master_link_status") == "up" and seen is not None and int(seen) == written:
                break
            if time.perf_counter() > deadline:
                break
            time.sleep(max(0.0, start + len(rows) * interval - time.perf_counter()))
    finally:
        master.execute_command("ACL", "SETUSER", REPLICATION_USER, "on")
        master.delete(KeySchema().repl_probe())
    frame = pd.DataFrame(rows)
    frame["stale by"] = frame["written"] - frame["replica reads"]
    frame["byte lag"] = frame["master offset"] - frame["replica offset"]
    return frame


def wait_cost(samples: int = 1000):
    """A plain SET against SET + WAIT 1 (until the replica acknowledges), alternated; tidy rows (bench shape)."""
    from .bench import alternate, tidy_frame

    if samples < 1:
        raise LabError("samples must be at least 1, e.g. samples=1000.")
    _require_up()
    master = clients.client("master")
    acks: list[int] = []

    def set_and_wait():
        master.set(KeySchema().repl_probe(), "w")
        acks.append(master.wait(1, 1000))

    frame = tidy_frame(
        alternate(
            {"SET": lambda: master.set(KeySchema().repl_probe(), "w"), "SET + WAIT 1": set_and_wait}, samples, "WAIT"
        )
    )
    master.delete(KeySchema().repl_probe())
    frame.attrs["acknowledged"] = sum(a >= 1 for a in acks) / max(1, len(acks))
    return frame


def _replica_dump() -> None:
    """The snapshot SHUTDOWN SAVE leaves in the replica's folder served its purpose once loaded: remove it."""
    s = settings.load()
    (pair_nodes(s)["replica"].data_dir / "dump.rdb").unlink(missing_ok=True)


def restart_replica() -> dict:
    """Stop the replica (SHUTDOWN SAVE keeps its replication ID and offset) and start it again:
    it resumes from the master's backlog, a partial resync. The counters before and after."""
    _require_up()
    before = sync_counters()
    servers.stop("replica", save=True)
    try:
        servers.up()
    finally:
        _replica_dump()
    return {"before": before, "after": sync_counters()}


def resync_beyond_backlog(backlog: str = "16kb", payload_bytes: int = 256 * 1024) -> dict:
    """The same, but the master takes more writes than its (shrunk) backlog holds while the replica is
    away: the replica cannot resume and copies everything again, a full resync. The setting is restored."""
    _require_up()
    master = clients.client("master")
    original = master.config_get("repl-backlog-size")["repl-backlog-size"]
    before = sync_counters()
    try:
        master.config_set("repl-backlog-size", backlog)
        servers.stop("replica", save=True)
        chunk = "x" * 4096
        pipe = master.pipeline(transaction=False)
        for i in range(payload_bytes // len(chunk) + 1):
            pipe.set(KeySchema().repl_fill(i % 8), chunk)
        pipe.execute()
        servers.up()
    finally:
        master.config_set("repl-backlog-size", original)
        master.delete(*[KeySchema().repl_fill(i) for i in range(8)])
        _replica_dump()
    return {"before": before, "after": sync_counters(), "backlog": backlog, "written_bytes": payload_bytes}


def master_failure(key: str = WORKSHOP_KEY, value: str = "redis cool") -> list[dict]:
    """Kill the master (kill -9), read from the replica, promote it by hand, write to it; then `lab.up()`
    restores the lab's topology and every write, and we time that."""
    _require_up()
    rows = []
    master, replica = clients.client("master"), clients.client("replica")

    def note(step: str, **extra) -> None:
        info = replica.info("replication")
        rows.append({"step": step, "replica role": info.get("role"), "replica link": info.get("master_link_status", ""),
                     **extra})  # fmt: skip

    master.set(key, value)
    wait_for_offsets()
    pid = servers.kill("master")
    deadline = time.monotonic() + 3
    while replica.info("replication").get("master_link_status") == "up" and time.monotonic() < deadline:
        time.sleep(0.01)  # the replica notices the closed connection
    note(f"master killed (pid {pid})", **{"replica GET": replica.get(key)})
    replica.execute_command("REPLICAOF", "NO", "ONE")
    replica.set(KeySchema().repl_promoted_write(), "kept")
    note(
        "replica promoted (REPLICAOF NO ONE), then written",
        **{"replica GET": replica.get(KeySchema().repl_promoted_write())},
    )
    start = time.perf_counter()
    servers.up()
    healed = time.perf_counter() - start
    note(
        f"lab.up() restored the topology in {healed * 1000:.0f} ms",
        **{"replica GET": clients.client("master").get(KeySchema().repl_promoted_write())},
    )
    rows[-1]["heal_ms"] = round(healed * 1000)
    clients.client("master").delete(KeySchema().repl_promoted_write())
    return rows
