"""Chapter 08's experiments: a cache that fills up (`lab.cache.small_cache`: small throwaway servers, the lab's
pair untouched). The hit ratio each eviction policy reaches on a skewed workload, beside an exact LRU and
Belady's optimum computed offline on the same trace with the capacity, in keys, that Redis actually held
(`lab.cache.policies`); Redis's sampled LRU; a scan; a cache filling up to its limit; `noeviction` and the
cache-aside lookup degrading; `maxmemory` sized from `MEMORY USAGE`; a replica that ignores its own limit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..cache import policies
from ..cache.lookup import CacheAside
from ..cache.slowdb import SlowDB
from ..cache.small_cache import VALUE_BYTES, Workload, small_cache, small_pair
from ..core.i18n import N_, _, thousands
from ..core.marks import Mark, check
from ..state.keys import KeySchema
from .progress import progress
from .results import Rows

__all__ = ["Workload", "through_the_lookup", "compare", "sampling", "scan", "filling", "noeviction", "sizing",
           "replica_follows"]  # fmt: skip
POLICIES = ("allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-ttl", "volatile-lru")
ROOM = 1.02  # the bounds get 2 % more keys than Redis held at the end: its memory moves a little during a run
SMALL_BUFFERS = 16 * 1024  # the buffers' share of maxmemory when lookups go a few per round trip
STEP = 10  # keys written per round trip when a cache is filled step by step
MARGIN = 1.05  # a plan's margin over the measured cost of a key


def _ratio(value: float) -> str:
    return thousands(f"{value:.3f}")


def bounds(trace: Sequence[int], held: int) -> dict[str, float]:
    """The exact LRU's and the optimum's hit ratios on `trace` for a cache of `held` keys (and ROOM more)."""
    capacity = max(1, round(held * ROOM))
    return {
        "exact_lru": policies.lru_hit_ratio(trace, capacity),
        "optimum": policies.optimum_hit_ratio(trace, capacity),
    }


class _Rows(Rows):
    chapter = "08"


@dataclass(frozen=True)
class Lookups(_Rows):
    """The same lookups through chapter 03's `CacheAside` (a round trip, two on a miss) and as this chapter's
    script (100 per round trip), each on the same small cache: hit ratio, keys held, time per lookup."""

    HEADERS = {"lookup": N_("lookup"), "hit_ratio": N_("hit ratio"), "held": N_("keys held"),
               "us": N_("µs per lookup")}  # fmt: skip


def through_the_lookup(workload: Workload, size: float = 0.2, count: int | None = None) -> Lookups:
    """The trace's first `count` lookups (2,000, or a twentieth of a shorter trace) both ways, on allkeys-lru."""
    trace, rows = workload.trace[: count or min(2_000, len(workload.trace) // 20)], []
    with small_cache("allkeys-lru") as cache:
        per_key = cache.measured_per_key()
        for name, run in ((N_("CacheAside (chapter 03)"), cache.run_lookups), (N_("the script"), cache.run)):
            cache.room_for(max(1, round(size * workload.keys)), per_key)
            started = time.perf_counter()
            hits = run(trace)
            took = time.perf_counter() - started
            rows.append({"lookup": _(name), "hit_ratio": policies.hit_ratio(hits), "held": cache.counters()["held"],
                         "us": round(took / len(trace) * 1e6, 1)})  # fmt: skip
    return Lookups(tuple(rows))


@dataclass(frozen=True)
class Policies(_Rows):
    """Hit ratio per policy and size (a share of the workload's keys), with what Redis held and evicted, beside
    the two bounds computed on the same trace for the keys that run held."""

    HEADERS = {"policy": N_("policy"), "size": N_("room for (share of the keys)"), "held": N_("keys held"),
               "hit_ratio": N_("hit ratio"), "exact_lru": N_("exact LRU"), "optimum": N_("optimum (Belady)"),
               "evicted_keys": N_("evicted_keys"), "used_memory": N_("used_memory")}  # fmt: skip
    seconds: float = 0.0
    bound_seconds: float = 0.0  # the slowest computation of the two bounds

    def of(self, policy: str) -> list[dict]:
        return sorted((r for r in self.rows if r["policy"] == policy), key=lambda r: r["size"])

    def at(self, size: float, policy: str = "allkeys-lru") -> dict:
        return next(r for r in self.rows if r["policy"] == policy and r["size"] == size)

    def checks(self) -> list[Mark]:
        above = [r for r in self.rows if r["hit_ratio"] > r["optimum"]]
        worst = max(self.rows, key=lambda r: r["hit_ratio"] - r["optimum"])
        figure = _("closest: {policy} at {size}: {ratio} against the optimum's {optimum}").format(
            policy=worst["policy"], size=f"{worst['size']:.0%}", ratio=_ratio(worst["hit_ratio"]),
            optimum=_ratio(worst["optimum"]))  # fmt: skip
        falling = [p for p in dict.fromkeys(r["policy"] for r in self.rows)
                   if any(b["hit_ratio"] < a["hit_ratio"] - 0.005 for a, b in zip(self.of(p), self.of(p)[1:]))]  # fmt: skip
        return [
            check("08.below_optimum", _("No policy beats the optimum, at any size"), not above, figure,
                  "lab.cache.policies.optimum_hit_ratio"),
            check("08.grows", _("Every policy's hit ratio grows with the room it has"), not falling,
                  ", ".join(falling) or _("{count} sizes").format(count=len({r['size'] for r in self.rows})),
                  "lab.eviction.compare(lab.eviction.Workload(2000, 20000), (0.1, 0.5))"),
        ]  # fmt: skip


def compare(workload: Workload, sizes: Sequence[float] = (0.05, 0.2, 0.5, 1.0),
            chosen: Sequence[str] = POLICIES) -> Policies:  # fmt: skip
    """Each policy in `chosen` at each size (a share of the workload's keys), on the same trace."""
    started, rows = time.monotonic(), []
    for policy in progress(
        chosen, desc=_("policies, each at {count} sizes").format(count=len(sizes)), unit=_("policies")
    ):
        with small_cache(policy) as cache:
            per_key = cache.measured_per_key()
            for size in sizes:
                cache.room_for(max(1, round(size * workload.keys)), per_key)
                hits = cache.run(workload.trace)
                rows.append({"policy": policy, "size": size, "hit_ratio": policies.hit_ratio(hits), **cache.counters()})
    slowest, found = 0.0, {}
    for row in rows:  # the bounds for the keys each run held (runs that held as many share them)
        if row["held"] not in found:
            computed = time.monotonic()
            found[row["held"]] = bounds(workload.trace, row["held"])
            slowest = max(slowest, time.monotonic() - computed)
        row.update(found[row["held"]], share_held=row["held"] / workload.keys)
    return Policies(tuple(rows), time.monotonic() - started, slowest)


@dataclass(frozen=True)
class Sampling(_Rows):
    """Redis's approximated LRU with `maxmemory-samples` 1, 5 and 10, against the exact LRU on the same trace."""

    HEADERS = {"samples": N_("maxmemory-samples"), "hit_ratio": N_("hit ratio"), "exact_lru": N_("exact LRU"),
               "held": N_("keys held")}  # fmt: skip
    seconds: float = 0.0

    def checks(self) -> list[Mark]:
        gap = {r["samples"]: abs(r["hit_ratio"] - r["exact_lru"]) for r in self.rows}
        figure = ", ".join(_("{samples} samples: {gap} from the exact LRU").format(
            samples=n, gap=_ratio(g)) for n, g in sorted(gap.items()))  # fmt: skip
        return [check("08.samples", _("More samples bring Redis's LRU nearer the exact one"),
                      gap[max(gap)] < gap[min(gap)], figure, "lab.eviction.sampling(lab.eviction.Workload(), 0.1)")]  # fmt: skip


class SamplingRuns:
    """Runs of allkeys-lru with each `maxmemory-samples`, each on its own server, all at once in the background,
    each spread over `over` seconds; `result()` waits for them."""

    def __init__(self, workload: Workload, size: float, samples: Sequence[int], over: float):
        self.workload, self.samples, self.started = workload, tuple(samples), time.monotonic()
        self.rows: dict[int, dict] = {}
        self.errors: list[Exception] = []
        self.threads = [threading.Thread(target=self._one, args=(n, size, over), daemon=True) for n in self.samples]
        for thread in self.threads:
            thread.start()

    def _one(self, count: int, size: float, over: float) -> None:
        try:
            with small_cache("allkeys-lru", count) as cache:
                cache.room_for(max(1, round(size * self.workload.keys)), cache.measured_per_key())
                hits = cache.run(self.workload.trace, over)
                self.rows[count] = {"samples": count, "hit_ratio": policies.hit_ratio(hits),
                                    "held": cache.counters()["held"]}  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - raised again by result(), in the caller's thread
            self.errors.append(exc)

    def result(self) -> Sampling:
        desc = _("maxmemory-samples, {count} runs at once").format(count=len(self.threads))
        for thread in progress(self.threads, desc=desc, unit=_("runs")):
            thread.join()
        if self.errors:
            raise self.errors[0]
        for row in self.rows.values():
            row["exact_lru"] = policies.lru_hit_ratio(self.workload.trace, max(1, round(row["held"] * ROOM)))
        return Sampling(tuple(self.rows[n] for n in self.samples), time.monotonic() - self.started)


def start_sampling(workload: Workload, size: float = 0.1, samples: Sequence[int] = (1, 5, 10),
                   over: float = 8.0) -> SamplingRuns:  # fmt: skip
    """Start the `maxmemory-samples` runs in the background (they take `over` seconds: Redis's LRU clock counts
    seconds, and a run of one second would leave it nothing to tell keys apart by); `.result()` later."""
    return SamplingRuns(workload, size, samples, over)


def sampling(workload: Workload, size: float = 0.1, samples: Sequence[int] = (1, 5, 10), over: float = 8.0) -> Sampling:
    """`start_sampling(...)`, waited for."""
    return start_sampling(workload, size, samples, over).result()


@dataclass(frozen=True)
class Scan(_Rows):
    """LRU and LFU through a scan (keys asked for once, in the middle of the workload): the workload's hit ratio
    in the window before the scan and in the window after it, per policy; `hits` per request, to plot."""

    HEADERS = {"policy": N_("policy"), "before": N_("hit ratio before the scan"),
               "after": N_("hit ratio just after"), "lost": N_("points lost"),
               "recovered_after": N_("requests to recover (within 2 points)")}  # fmt: skip
    hits: dict = field(default_factory=dict)
    scan_at: int = 0
    scan_length: int = 0

    def timeline(self, window: int = 1_000):
        """A frame: the hit ratio over the last `window` requests, per policy, every `window` // 10 requests."""
        import numpy as np
        import pandas as pd

        parts = []
        for policy, hits in self.hits.items():
            rolling = np.convolve(np.asarray(hits, dtype=float), np.ones(window) / window, mode="valid")
            at = np.arange(window, len(hits) + 1)[:: max(1, window // 10)]
            parts.append(pd.DataFrame({"policy": policy, "request": at, "hit_ratio": rolling[at - window]}))
        return pd.concat(parts, ignore_index=True)

    def checks(self) -> list[Mark]:
        lost = {r["policy"]: r["lost"] for r in self.rows}
        figure = _("LRU lost {lru} points, LFU {lfu}").format(lru=thousands(f"{lost['allkeys-lru']:.1f}"),
                                                              lfu=thousands(f"{lost['allkeys-lfu']:.1f}"))  # fmt: skip
        return [check("08.scan", _("Under a scan, LFU keeps more of its hit ratio than LRU"),
                      lost["allkeys-lfu"] < lost["allkeys-lru"], figure, "lab.eviction.scan(lab.eviction.Workload())")]  # fmt: skip


def scan_trace(workload: Workload, room: int, length: float) -> tuple[list[int], int, int]:
    """The workload's trace with `length` × `room` keys, never asked for again, scanned in its middle."""
    at, count = len(workload.trace) // 2, max(1, round(length * room))
    return policies.with_scan(workload.trace, at, count, first_key=workload.keys + 1), at, count


def _recovered(hits: list[bool], start: int, target: float, window: int) -> int | None:
    """Requests after `start` until the hit ratio over the next `window` is back to `target` (None: never)."""
    import numpy as np

    sums = np.concatenate(([0.0], np.cumsum(hits, dtype=float)))
    ahead = (sums[window:] - sums[:-window]) / window  # ahead[i]: the hit ratio of requests i to i + window - 1
    back = np.nonzero(ahead[start:] >= target)[0]
    return int(back[0]) if len(back) else None


def scan(workload: Workload, size: float = 0.2, length: float = 2.0, window: int = 2_000) -> Scan:
    """The workload with `length` × the keys that fit scanned in its middle, under allkeys-lru and allkeys-lfu."""
    room = max(1, round(size * workload.keys))
    trace, at, count = scan_trace(workload, room, length)
    rows, hits = [], {}
    for policy in ("allkeys-lru", "allkeys-lfu"):
        with small_cache(policy) as cache:
            cache.room_for(room, cache.measured_per_key())
            hits[policy] = cache.run(trace)
        before = policies.hit_ratio(hits[policy][at - window : at])
        after = policies.hit_ratio(hits[policy][at + count : at + count + window])
        rows.append({"policy": policy, "before": before, "after": after, "lost": (before - after) * 100,
                     "recovered_after": _recovered(hits[policy], at + count, before - 0.02, window)})  # fmt: skip
    return Scan(tuple(rows), hits, at, count)


@dataclass(frozen=True)
class Filling(_Rows):
    """A cache filled `STEP` new keys at a time: used memory, the limit and the evictions after each step."""

    HEADERS = {"written": N_("keys written"), "held": N_("keys held"), "used_memory": N_("used_memory"),
               "maxmemory": N_("maxmemory"), "evicted_keys": N_("evicted_keys")}  # fmt: skip

    def per_key(self) -> float:
        """What a key added to used_memory before the limit was reached (the slope of the first steps)."""
        before = [r for r in self.rows if not r["evicted_keys"]]
        first, last = before[0], before[-1]
        return (last["used_memory"] - first["used_memory"]) / max(1, last["written"] - first["written"])

    def checks(self) -> list[Mark]:
        first = next((i for i, r in enumerate(self.rows) if r["evicted_keys"]), None)
        slack = 2 * STEP * self.per_key()  # one step's keys, twice: a step may cross the limit anywhere in it
        under = first is not None and first > 1 and all(r["used_memory"] <= r["maxmemory"] for r in self.rows[:first])
        reached = under and self.rows[first - 1]["used_memory"] >= self.rows[first]["maxmemory"] - slack
        kept = all(r["used_memory"] <= r["maxmemory"] + slack for r in self.rows)
        row = self.rows[first] if first is not None else {}
        figure = _("the first eviction after {written} keys, at {used} of {limit} bytes").format(
            written=row.get("written", "—"), used=row.get("used_memory", "—"), limit=row.get("maxmemory", "—")
        )
        return [check("08.on_the_limit", _("Evictions start when memory reaches the limit, and keep it there"),
                      under and reached and kept, figure, "lab.eviction.filling(300)")]  # fmt: skip


def filling(room: int = 300) -> Filling:
    """allkeys-lru with room for about `room` keys, `STEP` new keys a round trip, to twice that."""
    with small_cache("allkeys-lru") as cache:
        cache.room_for(room, cache.per_key(), SMALL_BUFFERS)
        rows = [{"written": 0, **cache.counters()}]
        for start in range(0, room * 2, STEP):
            cache.write(range(start, start + STEP))
            rows.append({"written": start + STEP, **cache.counters()})
    return Filling(tuple(rows))


def _lookup(client) -> CacheAside:
    """The workshop's lookup (chapter 03's `CacheAside`) over a small cache, with an instant database."""
    return CacheAside(SlowDB(delay=0), client=client, keys=KeySchema(""), ttl=60)


@dataclass(frozen=True)
class NoEviction(_Rows):
    """`noeviction` with its memory full: a write refused (Redis's words), and a lookup of a key not cached yet
    answering from the database and saying why (`rows`: that lookup)."""

    HEADERS = {"key": N_("key"), "source": N_("source"), "cache_state": N_("cache"), "warning": N_("why")}
    refused: str = ""
    written: int = 0  # keys written before Redis refused one

    def checks(self) -> list[Mark]:
        lookup = self.rows[0]
        ok = self.refused.startswith("OOM") and lookup["source"] == "slow_db" and lookup["value"] is not None \
            and lookup["cache_state"] == "miss, not stored"  # fmt: skip
        figure = f"{self.refused.split(' ')[0]} → {lookup['source']}, {_(lookup['cache_state'])}"  # (Redis's code)
        return [check("08.noeviction", _("noeviction refuses writes; the lookup answers from the database"), ok,
                      figure, "lab.eviction.noeviction()")]  # fmt: skip


def noeviction(room: int = 300) -> NoEviction:
    """A small cache with `noeviction`, written to until Redis refuses a write (OOM), then a lookup through
    `CacheAside` of a key it does not hold."""
    with small_cache("noeviction") as cache:
        cache.room_for(room, cache.per_key(), SMALL_BUFFERS)
        written = refused = 0
        while not refused and written < room * 4:
            refused = cache.write(range(written, written + STEP))
            written += STEP
        said = cache.last_error
        # full — but the buffers of the refused batch, freed, could let one more write in: the limit goes below
        cache.client.config_set("maxmemory", cache.used_memory() - SMALL_BUFFERS)
        result = _lookup(cache.client).get("test-key")
    row = {"key": result.key, "value": result.value, "source": result.source, "cache_state": result.cache_state,
           "warning": result.warning}  # fmt: skip
    return NoEviction((row,), said, written)


@dataclass(frozen=True)
class Sizing(_Rows):
    """`MEMORY USAGE` of a key the lookups cache, what N such keys really add to `used_memory`, and two
    `maxmemory` planned for N keys — from `MEMORY USAGE` alone, and from the measured cost — with what each held."""

    HEADERS = {"plan": N_("maxmemory planned from"), "per_key": N_("bytes per key"), "maxmemory": N_("maxmemory"),
               "held": N_("keys held"), "evicted_keys": N_("evicted_keys")}  # fmt: skip
    keys: int = 0
    usage: int = 0
    value_bytes: int = 0
    measured: float = 0.0
    baseline: int = 0

    def checks(self) -> list[Mark]:
        alone, measured = self.rows
        figure = _("{held} of {keys} keys held with the measured cost; {alone} with MEMORY USAGE alone").format(
            held=measured["held"], keys=self.keys, alone=alone["held"])  # fmt: skip
        return [check("08.sized", _("A maxmemory sized from the measured cost of a key holds every key"),
                      measured["held"] == self.keys and measured["evicted_keys"] == 0, figure, "lab.eviction.sizing(2000)")]  # fmt: skip


def sizing(keys: int = 2_000) -> Sizing:
    with small_cache("allkeys-lru") as cache:
        usage, baseline, measured = cache.per_key(), cache.empty(), cache.measured_per_key(keys)
        rows = []
        for plan, per_key in ((N_("MEMORY USAGE alone"), usage), (N_("the measured cost, +5 %"), measured * MARGIN)):
            cache.client.config_set("maxmemory", cache.empty() + SMALL_BUFFERS + round(keys * per_key))
            cache.write(range(keys))
            counted = cache.counters()
            rows.append({"plan": _(plan), "per_key": round(per_key), **counted})
    return Sizing(tuple(rows), keys, usage, VALUE_BYTES, measured, baseline)


@dataclass(frozen=True)
class ReplicaFollows(_Rows):
    """A master that evicts and its replica given a far smaller `maxmemory`: the replica ignores it
    (`replica-ignore-maxmemory yes`) and holds exactly the master's keys, removing those the master evicts."""

    HEADERS = {"server": N_("server"), "maxmemory": N_("maxmemory"), "used_memory": N_("used_memory"),
               "held": N_("keys held"), "evicted_keys": N_("evicted_keys")}  # fmt: skip
    same_keys: bool = False
    ignore: str = ""

    def checks(self) -> list[Mark]:
        master, replica = self.rows
        ok = self.same_keys and master["held"] > 0 and master["evicted_keys"] > 0 and replica["evicted_keys"] == 0 and \
            replica["used_memory"] > replica["maxmemory"]  # fmt: skip
        figure = _("master evicted {evicted}; the replica holds the same {held} keys, {used} bytes over its limit of {limit}").format(
            evicted=master["evicted_keys"], held=replica["held"], used=replica["used_memory"], limit=replica["maxmemory"])  # fmt: skip
        return [check("08.replica_follows", _("The replica ignores its maxmemory and follows the master's evictions"),
                      ok, figure, "lab.eviction.replica_follows()")]  # fmt: skip


def replica_follows(room: int = 300) -> ReplicaFollows:
    with small_pair("allkeys-lru") as (master, replica):
        master.room_for(room, master.per_key())
        replica.client.config_set("maxmemory", master.used_memory() // 4)
        master.write(range(room * 3))
        master.client.wait(1, 5_000)
        ignore = replica.client.config_get("replica-ignore-maxmemory")["replica-ignore-maxmemory"]
        same = set(master.client.scan_iter("evict:*", 1000)) == set(replica.client.scan_iter("evict:*", 1000))
        rows = ({"server": _("master"), **master.counters()}, {"server": _("replica"), **replica.counters()})
    return ReplicaFollows(rows, same, ignore)
