"""TTL experiments on the lab's pair (chapter 05), each a result that owns its checks and holds its table.

The experiments use database 1 (`SELECT 1`), so the counts they read (`INFO keyspace`) are not mixed with
the cache's keys in database 0; they empty it before and after.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from ..core.errors import LabError
from ..core.i18n import N_, _, thousands
from ..core.marks import Mark, check
from ..servers import clients
from ..servers.context import Lab
from .progress import progress
from .results import Rows

TTL_DB = 1


def _positive(**values: float) -> None:
    for name, value in values.items():
        if value is None or value <= 0:
            raise LabError(_("{name} must be positive (got {value}); e.g. {name}=5.").format(name=name, value=value))


class _Rows(Rows):
    chapter = "05"


@dataclass(frozen=True)
class Countdown(_Rows):
    """One key's TTL and PTTL, sampled on both servers, each sample with the error it may honestly have."""

    set_rtt_s: float = 0.0
    replica_delay_s: float = 0.0

    def checks(self) -> list[Mark]:
        f = self.frame
        alive = f[(f.ttl_s >= 0) & (f.pttl_s >= 0)]  # (it may expire between TTL and PTTL)
        ttl_off, pttl_off = (alive.ttl_s - alive.ideal_s).abs(), (alive.pttl_s - alive.ideal_s).abs()
        error_ms = alive.error_s.max() * 1000
        error = thousands(f"{error_ms:.1f}")
        return [
            check("05.ttl_rounding", _("TTL is PTTL rounded to whole seconds: within 0.5 s of the ideal, plus each "
                  "sample's error"), (ttl_off <= 0.5 + alive.error_s).all(),
                  _("worst {worst} s; sampling error up to {error} ms").format(worst=thousands(f"{ttl_off.max():.2f}"),
                                                                              error=error),
                  "lab.ttl.single_key(ctx, 2, 0.1)"),
            check("05.pttl", _("PTTL follows the ideal within each sample's measured error"),
                  (pttl_off <= alive.error_s).all(),
                  _("worst {worst} ms off; sampling error up to {error} ms").format(
                      worst=thousands(f"{pttl_off.max() * 1000:.1f}"), error=error),
                  "lab.ttl.single_key(ctx, 2, 0.1)"),
        ]  # fmt: skip


@dataclass(frozen=True)
class Decay(_Rows):
    """A population of keys expiring: live keys, keys with a TTL and `expired_keys` over time, beside the ideal."""

    max_ttl: float = 10.0
    hz: int = 10
    CYCLES = 20  # expire cycles after the longest TTL within which every key is gone

    def checks(self) -> list[Mark]:
        f = self.frame
        gone_at = f[f.live_keys == 0].t.min()
        return [check("05.all_gone", _("Every key gone within {cycles} expire cycles of the longest TTL").format(
                          cycles=self.CYCLES),
                      gone_at <= self.max_ttl + self.CYCLES / self.hz,
                      _("all gone after {gone} s (longest TTL {longest} s, hz {hz})").format(
                          gone=thousands(f"{gone_at:.1f}"), longest=thousands(f"{self.max_ttl:g}"), hz=self.hz),
                      "lab.client().config_get('hz')")]  # fmt: skip


@dataclass(frozen=True)
class LazyExpiry(_Rows):
    """Keys never read, with the active expire cycle on and off, then all read: keys in memory over time."""

    hz: int = 10
    keys: int = 0

    def checks(self) -> list[Mark]:
        f = self.frame
        never_read = f[f.phase == "never read"].groupby("expiry").keys_in_memory.last()
        return [check("05.active_expiry", _("Active expiry removes keys nobody reads"),
                      never_read["active expiry on"] == 0 and never_read["active expiry off"] == self.keys,
                      _("left in memory: {counts}").format(counts=never_read.to_dict()), "lab.up()")]  # fmt: skip

    def summary(self):
        """The last sample of each phase: keys in memory and expired_keys."""
        return self.frame.groupby(["expiry", "phase"], sort=False).last()[["keys_in_memory", "expired_keys"]]


@dataclass(frozen=True)
class ReplicaView(_Rows):
    """What the replica answers and holds, before and after a key's TTL, then after the master's DEL."""

    HEADERS = {"replica_get": N_("replica GET"), "replica_keys": N_("replica keys in memory"),
               "master_keys": N_("master keys in memory")}  # fmt: skip

    def checks(self) -> list[Mark]:
        in_memory = self.column("replica_keys")
        return [check("05.replica_view", _("The replica hides an expired key but keeps it until the master's DEL"),
                      self.rows[1]["replica_get"] is None and in_memory == [1, 1, 0],
                      _("replica keys in memory: {counts}").format(counts=in_memory), "lab.up()")]  # fmt: skip

    def column(self, name: str) -> list:
        return [r[name] for r in self.rows]


def _keyspace(info: dict) -> tuple[int, int]:
    db = info.get(f"db{TTL_DB}", {})
    return int(db.get("keys", 0)), int(db.get("expires", 0))


def single_key(lab: Lab, ttl: float = 5, interval: float = 0.1, slack: float = 2.0):
    """SET … EX ttl, then TTL and PTTL sampled on master and replica every `interval` s until the key is gone.

    Rows: t (s since the SET), server, ttl_s (whole seconds, as TTL says), pttl_s (PTTL, ms → s), ideal_s, and
    error_s: how far from the ideal this sample may honestly be — its own round trip, the SET's round trip
    (the clock starts when SET returns, the key's TTL when the server ran it), on the replica the time the
    key took to get there, and PTTL's 1 ms resolution. The attrs hold `set_rtt_s` and `replica_delay_s`.
    """
    _positive(ttl=ttl, interval=interval)
    with clients.explained("master"):
        master, replica = lab.client("master", db=TTL_DB), lab.client("replica", db=TTL_DB)
        master.delete(lab.keys.ttl_demo())
        sent = time.perf_counter()
        master.set(lab.keys.ttl_demo(), "counting down", px=int(ttl * 1000))
        start = time.perf_counter()
        while not replica.exists(lab.keys.ttl_demo()) and time.perf_counter() - start < 1.0:
            pass  # how long the key takes to reach the replica (it counts its TTL from there on Redis < 7)
        delay = {"master": 0.0, "replica": time.perf_counter() - start}
        rows = []
        steps = int((ttl + slack) / interval) + 1
        desc = _("sampling TTL/PTTL every {ms} ms").format(ms=f"{interval * 1000:.0f}")
        for _step in progress(range(steps), desc=desc, unit=_("samples")):
            gone = 0
            for name, c in (("master", master), ("replica", replica)):
                pipe = c.pipeline(transaction=False)
                pipe.ttl(lab.keys.ttl_demo())
                pipe.pttl(lab.keys.ttl_demo())
                t = time.perf_counter() - start
                ttl_s, pttl_ms = pipe.execute()
                rtt = time.perf_counter() - start - t
                rows.append(
                    {
                        "t": t,
                        "server": name,
                        "ttl_s": ttl_s,
                        "pttl_s": pttl_ms / 1000 if pttl_ms >= 0 else pttl_ms,
                        "ideal_s": max(ttl - t, 0.0),
                        "error_s": rtt + (start - sent) + delay[name] + 0.001,
                    }
                )
                gone += ttl_s == -2
            if gone == 2:
                break
            time.sleep(max(0.0, start + len(rows) / 2 * interval - time.perf_counter()))
    return Countdown(tuple(rows), set_rtt_s=start - sent, replica_delay_s=delay["replica"])


def population(
    lab: Lab,
    keys: int = 200,
    max_ttl: float = 10,
    mode: str = "random",
    interval: float = 0.25,
    slack: float = 3.0,
    seed: int = 6380,
):
    """K keys with random (or staggered) TTLs up to `max_ttl`: live keys, `expires` and `expired_keys` over time."""
    _positive(keys=keys, max_ttl=max_ttl, interval=interval)
    if mode not in ("random", "staggered"):
        raise LabError(_("mode {mode}: use 'random' or 'staggered'.").format(mode=repr(mode)))
    rng = random.Random(seed)
    ttls = [rng.uniform(0.5, max_ttl) if mode == "random" else max_ttl * (i + 1) / keys for i in range(keys)]
    with clients.explained("master"):
        master = lab.client("master", db=TTL_DB)
        hz = int(master.config_get("hz")["hz"])
        master.flushdb()
        expired_before = master.info("stats")["expired_keys"]
        pipe = master.pipeline(transaction=False)
        for i, ttl in enumerate(ttls):
            pipe.set(lab.keys.ttl_population(i), i, px=int(ttl * 1000))
        pipe.execute()
        start = time.perf_counter()
        rows = []
        steps = int((max_ttl + slack) / interval) + 1
        for step in progress(range(steps), desc=_("{keys} keys expiring").format(keys=keys), unit=_("samples")):
            t = time.perf_counter() - start
            info = master.info()
            live, expires = _keyspace(info)
            rows.append(
                {
                    "t": t,
                    "live_keys": live,
                    "keys_with_ttl": expires,
                    "expired_keys": info["expired_keys"] - expired_before,
                    "ideal_live": sum(ttl > t for ttl in ttls),
                }
            )
            if live == 0:
                break
            time.sleep(max(0.0, start + (step + 1) * interval - time.perf_counter()))
        master.flushdb()
    return Decay(tuple(rows), max_ttl=max_ttl, hz=hz)


def lazy_vs_active(lab: Lab, keys: int = 100, ttl: float = 1.0, watch: float = 2.5, interval: float = 0.25):
    """Keys that expire and are never read: with active expiry they leave by themselves; without it
    (`DEBUG SET-ACTIVE-EXPIRE 0`) they stay in memory until something touches them (lazy expiry)."""
    _positive(keys=keys, ttl=ttl, watch=watch, interval=interval)
    rows = []
    with clients.explained("master"):
        master = lab.client("master", db=TTL_DB)
        hz = int(master.config_get("hz")["hz"])
        try:
            for active in (True, False):
                master.flushdb()
                master.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1 if active else 0)
                before = master.info("stats")["expired_keys"]
                pipe = master.pipeline(transaction=False)
                for i in range(keys):
                    pipe.set(lab.keys.ttl_lazy(i), i, px=int(ttl * 1000))
                pipe.execute()
                start = time.perf_counter()
                label = "active expiry on" if active else "active expiry off"  # (values the checks compare)
                desc = _("active expiry on") if active else _("active expiry off")
                for step in progress(range(int(watch / interval) + 1), desc=desc, unit=_("samples")):
                    live, _expires = _keyspace(master.info("keyspace"))
                    expired = master.info("stats")["expired_keys"] - before
                    rows.append(
                        {
                            "t": time.perf_counter() - start,
                            "expiry": label,
                            "phase": "never read",
                            "keys_in_memory": live,
                            "expired_keys": expired,
                        }
                    )
                    time.sleep(max(0.0, start + (step + 1) * interval - time.perf_counter()))
                if not active:  # now read every key: each read finds it expired and deletes it (lazy)
                    pipe = master.pipeline(transaction=False)
                    for i in range(keys):
                        pipe.get(lab.keys.ttl_lazy(i))
                    found = sum(v is not None for v in pipe.execute())
                    live, _expires = _keyspace(master.info("keyspace"))
                    rows.append(
                        {
                            "t": time.perf_counter() - start,
                            "expiry": label,
                            "phase": _("after reading them ({found} found)").format(found=found),
                            "keys_in_memory": live,
                            "expired_keys": master.info("stats")["expired_keys"] - before,
                        }
                    )
        finally:
            master.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1)
            master.flushdb()
    return LazyExpiry(tuple(rows), hz=hz, keys=keys)


def replica_view(lab: Lab, ttl: float = 1.0) -> ReplicaView:
    """Replicas do not expire keys themselves: after the TTL, the replica still holds the key in memory but
    answers GET with nil; the master's DEL (here, triggered by reading it on the master) removes it."""
    _positive(ttl=ttl)
    rows = []
    with clients.explained("master"):
        master, replica = lab.client("master", db=TTL_DB), lab.client("replica", db=TTL_DB)

        def look(step: str) -> None:
            m_keys, _expires = _keyspace(master.info("keyspace"))
            r_keys, _expires = _keyspace(replica.info("keyspace"))
            rows.append(
                {
                    "step": step,
                    "replica_get": replica.get(lab.keys.ttl_demo()),
                    "replica_keys": r_keys,
                    "master_keys": m_keys,
                }
            )

        try:
            master.flushdb()
            master.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)  # so the master does not DEL it on its own
            master.set(lab.keys.ttl_demo(), "short-lived", px=int(ttl * 1000))
            master.wait(1, 1000)
            look(_("just written"))
            time.sleep(ttl + 0.2)
            look(_("after {ttl} s (expired)").format(ttl=thousands(f"{ttl:.1f}")))
            master.get(lab.keys.ttl_demo())  # the master notices the expiry and propagates a DEL
            master.wait(1, 1000)
            look(_("after a read on the master"))
        finally:
            master.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1)
            master.flushdb()
    return ReplicaView(tuple(rows))
