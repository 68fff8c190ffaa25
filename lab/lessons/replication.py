"""Replication, shown and measured (chapter 02): both sides' status, a read-only replica, the time a write takes
to be visible there, a cut link and its stale reads, WAIT. Each measurement returns a result that owns its
checks; resyncs and a killed master are `replica_limits`'s.

Every experiment is bounded in time and leaves the lab as `lab.up()` wants it (on an interrupt too: the
`finally` blocks restore settings, and `lab.up()` heals whatever a kill left behind).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from ..core import fix
from ..core.errors import LabError
from ..core.i18n import N_, _, ngettext
from ..core.marks import Mark, check
from ..servers import clients
from ..servers import pair as servers
from ..servers.context import Lab
from ..state.keys import WORKSHOP_KEY
from .progress import progress
from .results import Measured

STATUS_FIELDS = ["actual_role", "link", "master_repl_offset", "replica_offset", "byte_lag", "last_io_s",
                 "sync_full", "sync_partial_ok", "sync_partial_err"]  # fmt: skip


def require_up(lab: Lab) -> None:
    if not servers.is_up():
        raise LabError(
            _("The lab is not running (or its replica is not linked); start it with {command}.").format(
                command=fix.command("up")
            )
        )


def status_table(lab: Lab):
    """Both servers' INFO replication and their sync counters (INFO stats), one row per server."""
    import pandas as pd

    rows = {}
    master_offset = None
    for role in clients.ROLES:
        try:
            with lab.client(role, socket_connect_timeout=0.5) as c:
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
        linked = int(repl.get("connected_slaves", 0))
        replicas = ngettext("{count} replica", "{count} replicas", linked).format(count=linked)
        rows[role] = {
            "actual_role": repl.get("role"),
            "link": repl.get("master_link_status", replicas),
            "master_repl_offset": repl.get("master_repl_offset"),
            "replica_offset": replica_offset,
            "byte_lag": None if replica_offset is None or master_offset is None else master_offset - replica_offset,
            "last_io_s": repl.get("master_last_io_seconds_ago"),
            "sync_full": stats.get("sync_full"),
            "sync_partial_ok": stats.get("sync_partial_ok"),
            "sync_partial_err": stats.get("sync_partial_err"),
        }
    return pd.DataFrame.from_dict(rows, orient="index").reindex(columns=STATUS_FIELDS)


def sync_counters(lab: Lab) -> dict[str, int]:
    """The master's full and partial resync counters."""
    with clients.explained("master"), lab.client("master") as c:
        stats = c.info("stats")
    return {k: int(stats[k]) for k in ("sync_full", "sync_partial_ok", "sync_partial_err")}


@dataclass(frozen=True)
class ReadOnly(Measured):
    """What the replica answered to a write: READONLY, the lesson."""

    reply: str
    chapter = "02"

    @property
    def frame(self):
        import pandas as pd

        return pd.DataFrame([{"reply": self.reply}])

    def checks(self) -> list[Mark]:
        return [check("02.read_only", _("Replica refuses writes (READONLY)"), self.reply.startswith("READONLY"),
                      self.reply[:60], "lab.client('replica').config_get('replica-read-only')")]  # fmt: skip

    def __str__(self) -> str:
        return self.reply


def write_to_replica(lab: Lab, key: str = WORKSHOP_KEY, value: str = "written on the replica") -> ReadOnly:
    """Try a write on the replica: the READONLY error it answers (the lesson, not a crash)."""
    import redis

    with clients.explained("replica"), lab.client("replica") as c:
        try:
            c.set(key, value)
        except redis.ReadOnlyError as exc:
            return ReadOnly(f"READONLY {exc}")
    return ReadOnly(_("the write was accepted: replica-read-only is off"))


def replica_config_still_works(lab: Lab) -> dict[str, str]:
    """Read-only is about data, not security: CONFIG (an admin command) still works on the replica."""
    with clients.explained("replica"), lab.client("replica") as c:
        return c.config_get("replica-read-only") | c.config_get("maxmemory")


def wait_for_offsets(lab: Lab, timeout: float = 5.0) -> bool:
    """Wait until the replica has acknowledged everything the master wrote (WAIT 1)."""
    with clients.explained("master"), lab.client("master") as c:
        return c.wait(1, int(timeout * 1000)) >= 1


@dataclass(frozen=True)
class TimeToVisible(Measured):
    """Per write: the SET's round trip and when a poller first saw it on the replica (µs); writes never seen."""

    rows: tuple[tuple[int, float, float], ...]  # (sample, rtt_us, visible_us)
    samples: int
    poll_p50_us: float | None
    chapter = "02"
    HEADERS = {"rtt_us": N_("SET round trip (µs)"), "visible_us": N_("visible on the replica (µs)")}

    @property
    def lost(self) -> int:
        return self.samples - len(self.rows)

    @property
    def frame(self):
        import pandas as pd

        return pd.DataFrame(list(self.rows), columns=["sample", "rtt_us", "visible_us"])

    def tidy(self):
        """Both series in the benchmarks' tidy shape (variant, latency_us), to plot and tabulate."""
        import pandas as pd

        f = self.frame
        return pd.concat([pd.DataFrame({"variant": _("SET round trip (client)"), "latency_us": f.rtt_us}),
                          pd.DataFrame({"variant": _("visible on the replica"),
                                        "latency_us": f.visible_us})])  # fmt: skip

    def checks(self) -> list[Mark]:
        f = self.frame
        figure = _("p50 {visible} µs, SET round trip p50 {round_trip} µs; {lost} of {samples} never seen").format(
            visible=f"{f.visible_us.median():.0f}", round_trip=f"{f.rtt_us.median():.0f}", lost=self.lost,
            samples=self.samples)  # fmt: skip
        return [check("02.time_to_visible", _("Time to visible measured for every write"),
                      self.lost == 0 and len(f) == self.samples, figure, "lab.up()")]  # fmt: skip


def time_to_visible(lab: Lab, samples: int = 500, timeout: float = 1.0) -> TimeToVisible:
    """For each write on the master, when a separate connection polling the replica first saw it.

    Per write: `rtt_us` (the SET's own round trip, measured alongside), `visible_us` (from sending the SET to
    the poller's first read that returned it); the poller's round trip p50 is the resolution.
    """
    if samples < 1:
        raise LabError(_("samples must be at least 1, e.g. samples=500."))
    require_up(lab)
    master, replica = lab.client("master"), lab.client("replica")
    probe = lab.keys.repl_probe()
    master.set(probe, -1)
    seen: dict[int, float] = {}
    polls: list[float] = []
    wanted = [(-1, threading.Event())]  # (the value awaited, its event): replaced whole, read once per poll
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            target, event = wanted[0]
            before = time.perf_counter()
            value = replica.get(probe)
            now = time.perf_counter()
            polls.append(now - before)
            if value is not None and int(value) == target and target not in seen:
                seen[target] = now
                event.set()

    poller = threading.Thread(target=poll, daemon=True, name="replica-poller")
    poller.start()
    rows = []
    try:
        for i in progress(range(samples), desc=_("time to visible"), unit=_("writes")):
            event = threading.Event()
            wanted[0] = (i, event)
            sent = time.perf_counter()
            master.set(probe, i)
            acked = time.perf_counter()
            if not event.wait(timeout) or i not in seen:
                continue  # not seen within the timeout: left out, and counted below
            rows.append((i, (acked - sent) * 1e6, (seen[i] - sent) * 1e6))
    finally:
        stop.set()
        poller.join(2)
        master.delete(probe)
    return TimeToVisible(tuple(rows), samples, sorted(polls)[len(polls) // 2] * 1e6 if polls else None)


@dataclass(frozen=True)
class StaleReads(Measured):
    """A cut link, sampled: what was written, what the replica answered, both offsets, the link's state."""

    rows: tuple[dict, ...]
    chapter = "02"
    HEADERS = {"link_cut": N_("link cut"), "replica_reads": N_("replica reads"), "stale_by": N_("stale by"),
               "master_offset": N_("master offset"), "replica_offset": N_("replica offset"),
               "byte_lag": N_("byte lag")}  # fmt: skip

    @property
    def frame(self):
        import pandas as pd

        frame = pd.DataFrame(list(self.rows))
        frame["stale_by"] = frame["written"] - frame["replica_reads"]
        frame["byte_lag"] = frame["master_offset"] - frame["replica_offset"]
        return frame

    def checks(self) -> list[Mark]:
        stale = self.frame.stale_by
        return [check("02.stale_read", _("A stale read during the cut, then caught up"),
                      stale.max() > 0 and stale.iloc[-1] == 0,
                      _("up to {most} writes behind, {last} at the end").format(most=int(stale.max()),
                                                                                last=int(stale.iloc[-1])),
                      "lab.up()")]  # fmt: skip


def stale_reads(lab: Lab, link_down_s: float = 1.0, interval: float = 0.02, catch_up_s: float = 3.0) -> StaleReads:
    """Cut the replica's link for `link_down_s` s while the master keeps taking writes; then let it reconnect
    and catch up.

    The cut: the master disables the `replication` user and drops the replica's connection, so the replica
    cannot log in again; it stays a replica and keeps answering reads with what it has (stale,
    `replica-serve-stale-data yes`). Re-enabling the user ends the partition: the replica reconnects (its
    retry runs once a second) and resumes from the master's backlog. Every `interval` s: a write on the
    master, a read on the replica, both offsets.
    """
    from ..state.credentials import REPLICATION_USER

    if link_down_s <= 0 or interval <= 0 or catch_up_s <= 0:
        raise LabError(_("link_down_s, interval and catch_up_s must be positive (e.g. 1.0, 0.02, 3.0)."))
    require_up(lab)
    master, replica = lab.client("master"), lab.client("replica")
    probe = lab.keys.repl_probe()
    master.set(probe, 0)
    wait_for_offsets(lab)
    rows = []
    start = time.perf_counter()
    written = 0
    try:
        master.execute_command("ACL", "SETUSER", REPLICATION_USER, "off")
        master.client_kill_filter(_type="replica")
        restored = False
        deadline = start + link_down_s + catch_up_s
        steps = int((link_down_s + catch_up_s) / interval) + 1
        for _step in progress(range(steps), desc=_("partition, then catch-up"), unit=_("samples")):
            now = time.perf_counter() - start
            if not restored and now >= link_down_s:
                master.execute_command("ACL", "SETUSER", REPLICATION_USER, "on")
                restored = True
            written += 1
            master.set(probe, written)
            m_offset = master.info("replication")["master_repl_offset"]
            r_info = replica.info("replication")
            seen = replica.get(probe)
            rows.append({
                "t": now, "link_cut": not restored, "written": written,
                "replica_reads": int(seen) if seen is not None else None,
                "master_offset": m_offset, "replica_offset": r_info.get("slave_repl_offset"),
                "link": r_info.get("master_link_status"),
            })  # fmt: skip
            if restored and r_info.get("master_link_status") == "up" and seen is not None and int(seen) == written:
                break
            if time.perf_counter() > deadline:
                break
            time.sleep(max(0.0, start + len(rows) * interval - time.perf_counter()))
    finally:
        master.execute_command("ACL", "SETUSER", REPLICATION_USER, "on")
        master.delete(probe)
    return StaleReads(tuple(rows))


@dataclass(frozen=True)
class WaitCost(Measured):
    """A plain SET against SET + WAIT 1, alternated (the benchmarks' tidy shape), and how many WAITs were
    acknowledged by the replica."""

    rows: tuple[dict, ...]
    acknowledged: float
    samples: int
    chapter = "02"

    @property
    def frame(self):
        from .bench import tidy_frame

        return tidy_frame(list(self.rows))

    def checks(self) -> list[Mark]:
        return [check("02.wait_acknowledged", _("WAIT 1 acknowledged by the replica"), self.acknowledged == 1.0,
                      _("{percent} of {samples} writes acknowledged").format(percent=f"{self.acknowledged:.0%}",
                                                                             samples=self.samples),
                      "lab.client().wait(1, 1000)")]  # fmt: skip


def wait_cost(lab: Lab, samples: int = 1000) -> WaitCost:
    """A plain SET against SET + WAIT 1 (until the replica acknowledges), alternated."""
    from .bench import alternate

    if samples < 1:
        raise LabError(_("samples must be at least 1, e.g. samples=1000."))
    require_up(lab)
    master, probe = lab.client("master"), lab.keys.repl_probe()
    acks: list[int] = []

    def set_and_wait():
        master.set(probe, "w")
        acks.append(master.wait(1, 1000))

    rows = alternate({"SET": lambda: master.set(probe, "w"), "SET + WAIT 1": set_and_wait}, samples, "WAIT")
    master.delete(probe)
    return WaitCost(tuple(rows), sum(a >= 1 for a in acks) / max(1, len(acks)), samples)
