"""TTL experiments on the lab's pair, returned as pandas DataFrames (chapter 05 plots them).

The experiments use database 1 (`SELECT 1`), so the counts they read (`INFO keyspace`) are not mixed with
the cache's keys in database 0; they empty it before and after.
"""

from __future__ import annotations

import random
import time

from ..core.errors import LabError
from ..servers import clients
from ..state.keys import KeySchema
from .progress import progress

TTL_DB = 1


def _positive(**values: float) -> None:
    for name, value in values.items():
        if value is None or value <= 0:
            raise LabError(f"{name} must be positive (got {value}); e.g. {name}=5.")


def _admin(role: str = "master"):
    return clients.client(role, db=TTL_DB)


def _keyspace(info: dict) -> tuple[int, int]:
    db = info.get(f"db{TTL_DB}", {})
    return int(db.get("keys", 0)), int(db.get("expires", 0))


def single_key(ttl: float = 5, interval: float = 0.1, slack: float = 2.0):
    """SET … EX ttl, then TTL and PTTL sampled on master and replica every `interval` s until the key is gone.

    Rows: t (s since the SET), server, ttl_s (whole seconds, as TTL says), pttl_s (PTTL, ms → s), ideal_s, and
    error_s: how far from the ideal this sample may honestly be — its own round trip, the SET's round trip
    (the clock starts when SET returns, the key's TTL when the server ran it), on the replica the time the
    key took to get there, and PTTL's 1 ms resolution. The attrs hold `set_rtt_s` and `replica_delay_s`.
    """
    import pandas as pd

    _positive(ttl=ttl, interval=interval)
    with clients.explained("master"):
        master, replica = _admin("master"), _admin("replica")
        master.delete(KeySchema().ttl_demo())
        sent = time.perf_counter()
        master.set(KeySchema().ttl_demo(), "counting down", px=int(ttl * 1000))
        start = time.perf_counter()
        while not replica.exists(KeySchema().ttl_demo()) and time.perf_counter() - start < 1.0:
            pass  # how long the key takes to reach the replica (it counts its TTL from there on Redis < 7)
        delay = {"master": 0.0, "replica": time.perf_counter() - start}
        rows = []
        steps = int((ttl + slack) / interval) + 1
        for _ in progress(range(steps), desc=f"sampling TTL/PTTL every {interval * 1000:.0f} ms", unit="samples"):
            gone = 0
            for name, c in (("master", master), ("replica", replica)):
                pipe = c.pipeline(transaction=False)
                pipe.ttl(KeySchema().ttl_demo())
                pipe.pttl(KeySchema().ttl_demo())
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
    frame = pd.DataFrame(rows)
    frame.attrs.update(set_rtt_s=start - sent, replica_delay_s=delay["replica"])
    return frame


def population(
    keys: int = 200,
    max_ttl: float = 10,
    mode: str = "random",
    interval: float = 0.25,
    slack: float = 3.0,
    seed: int = 6380,
):
    """K keys with random (or staggered) TTLs up to `max_ttl`: live keys, `expires` and `expired_keys` over time."""
    import pandas as pd

    _positive(keys=keys, max_ttl=max_ttl, interval=interval)
    if mode not in ("random", "staggered"):
        raise LabError(f"mode {mode!r}: use 'random' or 'staggered'.")
    rng = random.Random(seed)
    ttls = [rng.uniform(0.5, max_ttl) if mode == "random" else max_ttl * (i + 1) / keys for i in range(keys)]
    with clients.explained("master"):
        master = _admin()
        master.flushdb()
        expired_before = master.info("stats")["expired_keys"]
        pipe = master.pipeline(transaction=False)
        for i, ttl in enumerate(ttls):
            pipe.set(KeySchema().ttl_population(i), i, px=int(ttl * 1000))
        pipe.execute()
        start = time.perf_counter()
        rows = []
        steps = int((max_ttl + slack) / interval) + 1
        for step in progress(range(steps), desc=f"{keys} keys expiring", unit="samples"):
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
    return pd.DataFrame(rows)


def lazy_vs_active(keys: int = 100, ttl: float = 1.0, watch: float = 2.5, interval: float = 0.25):
    """Keys that expire and are never read: with active expiry they leave by themselves; without it
    (`DEBUG SET-ACTIVE-EXPIRE 0`) they stay in memory until something touches them (lazy expiry)."""
    import pandas as pd

    _positive(keys=keys, ttl=ttl, watch=watch, interval=interval)
    rows = []
    with clients.explained("master"):
        master = _admin()
        hz = int(master.config_get("hz")["hz"])
        try:
            for active in (True, False):
                master.flushdb()
                master.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1 if active else 0)
                before = master.info("stats")["expired_keys"]
                pipe = master.pipeline(transaction=False)
                for i in range(keys):
                    pipe.set(KeySchema().ttl_lazy(i), i, px=int(ttl * 1000))
                pipe.execute()
                start = time.perf_counter()
                label = "active expiry on" if active else "active expiry off"
                for step in progress(range(int(watch / interval) + 1), desc=label, unit="samples"):
                    live, _ = _keyspace(master.info("keyspace"))
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
                        pipe.get(KeySchema().ttl_lazy(i))
                    found = sum(v is not None for v in pipe.execute())
                    live, _ = _keyspace(master.info("keyspace"))
                    rows.append(
                        {
                            "t": time.perf_counter() - start,
                            "expiry": label,
                            "phase": f"after reading them ({found} found)",
                            "keys_in_memory": live,
                            "expired_keys": master.info("stats")["expired_keys"] - before,
                        }
                    )
        finally:
            master.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1)
            master.flushdb()
    frame = pd.DataFrame(rows)
    frame.attrs["hz"] = hz
    return frame


def replica_view(ttl: float = 1.0):
    """Replicas do not expire keys themselves: after the TTL, the replica still holds the key in memory but
    answers GET with nil; the master's DEL (here, triggered by reading it on the master) removes it."""
    import pandas as pd

    _positive(ttl=ttl)
    rows = []
    with clients.explained("master"):
        master, replica = _admin("master"), _admin("replica")

        def look(step: str) -> None:
            m_keys, _ = _keyspace(master.info("keyspace"))
            r_keys, _ = _keyspace(replica.info("keyspace"))
            rows.append(
                {
                    "step": step,
                    "replica GET": replica.get(KeySchema().ttl_demo()),
                    "replica keys in memory": r_keys,
                    "master keys in memory": m_keys,
                }
            )

        try:
            master.flushdb()
            master.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)  # so the master does not DEL it on its own
            master.set(KeySchema().ttl_demo(), "short-lived", px=int(ttl * 1000))
            master.wait(1, 1000)
            look("just written")
            time.sleep(ttl + 0.2)
            look(f"after {ttl:.1f} s (expired)")
            master.get(KeySchema().ttl_demo())  # the master notices the expiry and propagates a DEL
            master.wait(1, 1000)
            look("after a read on the master")
        finally:
            master.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1)
            master.flushdb()
    return pd.DataFrame(rows)
