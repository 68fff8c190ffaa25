"""Chapter 08's experiments: a cache that fills up. Small throwaway servers (a few MB of `maxmemory`, the lab's
pair untouched), a skewed workload of lookups (Zipf, α≈1: a few keys asked for all the time, most rarely), and
the hit ratio each eviction policy reaches — beside an exact LRU and Belady's optimum computed offline on the
same trace with the capacity, in keys, that Redis actually held (`lab.cache.policies`).

The lookups run on the server as one small script each — `GET`; on a miss `SET` the value with its TTL: the
cache-aside lookup without the database, whose answer here is a value of a fixed size — sent 100 per round trip
(pipelined) but executed one after the other, in the trace's order, Redis evicting before each as it does for
any client. 100,000 lookups take about a second; one round trip each, they would take twenty.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

from ..cache import policies
from ..core.i18n import N_, _, thousands
from ..core.marks import Mark, check
from ..servers.scratch import scratch_servers
from .progress import progress
from .results import Rows

POLICIES = ("allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-ttl", "volatile-lru")
VALUE_BYTES = 200  # every value the same size, so that bytes and keys convert
TTL_MS = 600_000  # every cached key has a TTL (what volatile-* policies need), longer than any run
BATCH = 100  # lookups per round trip
BUFFERS = 128 * 1024  # bytes left above the keys for the connection's buffers (Redis counts them as used memory)
ROOM = 1.02  # the bounds get 2 % more keys than Redis held at the end: its memory moves a little during a run
LOOKUP = """-- the cache-aside lookup, on the server: GET; on a miss SET the value (its size given) with its TTL
local value = redis.call('GET', KEYS[1])
if value then return 1 end
redis.call('SET', KEYS[1], string.rep('v', tonumber(ARGV[1])), 'PX', ARGV[2])
return 0"""


@dataclass(frozen=True)
class Workload:
    """`requests` lookups of `keys` keys, key k asked for with probability ∝ 1 / (k + 1) ** alpha."""

    keys: int = 5_000
    requests: int = 100_000
    alpha: float = 1.0
    seed: int = 8

    @cached_property
    def trace(self) -> list[int]:
        return policies.zipf_trace(self.keys, self.requests, self.alpha, self.seed)


def key_name(number: int) -> str:
    return f"evict:{number:06d}"


class SmallCache:
    """A throwaway server with an eviction policy: empty it, give it room for so many keys, run a trace."""

    def __init__(self, client):
        self.client = client
        self.script = client.script_load(LOOKUP)
        self.names: dict[int, str] = {}
        self.refused = 0

    def configure(self, **settings_: object) -> None:
        for name, value in settings_.items():
            self.client.config_set(name.replace("_", "-"), value)

    def empty(self) -> int:
        """No keys, no limit, counters at zero; the memory it uses empty (its baseline)."""
        self.client.config_set("maxmemory", 0)
        self.client.flushall()
        self.client.config_resetstat()
        return int(self.client.info("memory")["used_memory"])

    def per_key(self) -> int:
        """What one cached key costs (MEMORY USAGE of a key and its value, as the lookups store them)."""
        self.client.set("evict:probe", "v" * VALUE_BYTES, px=TTL_MS)
        try:
            return int(self.client.memory_usage("evict:probe"))
        finally:
            self.client.delete("evict:probe")

    def room_for(self, keys: int, per_key: int) -> int:
        """Empty the server, then set maxmemory to its baseline, the buffers of a pipelined connection and `keys`
        keys; the limit set (what it really holds, DBSIZE after a run, is what the bounds use)."""
        limit = self.empty() + BUFFERS + keys * per_key
        self.client.config_set("maxmemory", limit)
        return limit

    def run(self, trace: Sequence[int], over: float = 0.0) -> list[bool]:
        """Each key of `trace` looked up in order (pipelined, BATCH per round trip): hit or miss of each. A lookup
        whose SET Redis refused (OOM: nothing it may evict) is a miss that cached nothing; `refused` counts them.
        `over`: seconds to spread the run over (Redis's LRU clock counts whole seconds: within one second every
        key looks as recent as any other, and its LRU cannot tell them apart)."""
        batches = max(1, -(-len(trace) // BATCH))
        pause = over / batches
        hits: list[bool] = []
        self.refused = 0
        for start in range(0, len(trace), BATCH):
            pipe = self.client.pipeline(transaction=False)
            for number in trace[start : start + BATCH]:
                name = self.names.get(number) or self.names.setdefault(number, key_name(number))
                pipe.evalsha(self.script, 1, name, VALUE_BYTES, TTL_MS)
            if pause:
                time.sleep(pause)
            replies = pipe.execute(raise_on_error=False)
            self.refused += sum(isinstance(reply, Exception) for reply in replies)
            hits.extend(reply == 1 for reply in replies)
        return hits

    def counters(self) -> dict[str, int]:
        memory, stats = self.client.info("memory"), self.client.info("stats")
        return {"held": int(self.client.dbsize()), "evicted_keys": int(stats["evicted_keys"]),
                "used_memory": int(memory["used_memory"]), "maxmemory": int(memory["maxmemory"])}  # fmt: skip


@contextmanager
def small_cache(policy: str = "allkeys-lru", samples: int = 5) -> Iterator[SmallCache]:
    """A throwaway server (a child of this process, stopped after) with `policy` and `maxmemory-samples`."""
    with scratch_servers(1, extra=f"maxmemory-policy {policy}\nmaxmemory-samples {samples}\n") as (server,):
        yield SmallCache(server)


def _bounds(trace: Sequence[int], held: int) -> dict[str, float]:
    capacity = max(1, round(held * ROOM))
    return {
        "exact_lru": policies.lru_hit_ratio(trace, capacity),
        "optimum": policies.optimum_hit_ratio(trace, capacity),
    }


class _Rows(Rows):
    chapter = "08"


@dataclass(frozen=True)
class Policies(_Rows):
    """Hit ratio per policy and size (a share of the workload's keys), with what Redis held and evicted, beside
    the two bounds computed on the same trace for the keys it held."""

    HEADERS = {"policy": N_("policy"), "size": N_("room for (share of the keys)"), "held": N_("keys held"),
               "hit_ratio": N_("hit ratio"), "exact_lru": N_("exact LRU"), "optimum": N_("optimum (Belady)"),
               "evicted_keys": N_("evicted_keys"), "used_memory": N_("used_memory")}  # fmt: skip
    seconds: float = 0.0

    def of(self, policy: str) -> list[dict]:
        return sorted((r for r in self.rows if r["policy"] == policy), key=lambda r: r["size"])

    def checks(self) -> list[Mark]:
        above = [r for r in self.rows if r["hit_ratio"] > r["optimum"]]
        worst = max(self.rows, key=lambda r: r["hit_ratio"] - r["optimum"])
        figure = _("closest: {policy} at {size}: {ratio} against the optimum's {optimum}").format(
            policy=worst["policy"], size=f"{worst['size']:.0%}", ratio=thousands(f"{worst['hit_ratio']:.3f}"),
            optimum=thousands(f"{worst['optimum']:.3f}"))  # fmt: skip
        falling = [p for p in {r["policy"] for r in self.rows}
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
            per_key = cache.per_key()
            for size in sizes:
                cache.room_for(max(1, round(size * workload.keys)), per_key)
                hits = cache.run(workload.trace)
                counted = cache.counters()
                rows.append({"policy": policy, "size": size, "hit_ratio": policies.hit_ratio(hits), **counted,
                             **_bounds(workload.trace, counted["held"])})  # fmt: skip
    return Policies(tuple(rows), time.monotonic() - started)


@dataclass(frozen=True)
class Sampling(_Rows):
    """Redis's approximated LRU with `maxmemory-samples` 1, 5 and 10, against the exact LRU on the same trace."""

    HEADERS = {"samples": N_("maxmemory-samples"), "hit_ratio": N_("hit ratio"), "exact_lru": N_("exact LRU"),
               "held": N_("keys held")}  # fmt: skip

    def checks(self) -> list[Mark]:
        gap = {r["samples"]: abs(r["hit_ratio"] - r["exact_lru"]) for r in self.rows}
        figure = ", ".join(_("{samples} samples: {gap} from the exact LRU").format(
            samples=n, gap=thousands(f"{g:.3f}")) for n, g in sorted(gap.items()))  # fmt: skip
        return [check("08.samples", _("More samples bring Redis's LRU nearer the exact one"),
                      gap[max(gap)] < gap[min(gap)], figure, "lab.eviction.sampling(lab.eviction.Workload(), 0.1)")]  # fmt: skip


def sampling(workload: Workload, size: float = 0.1, samples: Sequence[int] = (1, 5, 10), over: float = 8.0) -> Sampling:
    """allkeys-lru with each `maxmemory-samples`, each run spread over `over` seconds (its LRU clock counts
    seconds: a run of one second would leave it nothing to tell the keys apart by)."""
    rows = []
    for count in progress(samples, desc=_("maxmemory-samples"), unit=_("runs")):
        with small_cache("allkeys-lru", count) as cache:
            cache.room_for(max(1, round(size * workload.keys)), cache.per_key())
            hits = cache.run(workload.trace, over)
            counted = cache.counters()
        exact = policies.lru_hit_ratio(workload.trace, max(1, round(counted["held"] * ROOM)))
        rows.append({"samples": count, "hit_ratio": policies.hit_ratio(hits), "exact_lru": exact,
                     "held": counted["held"]})  # fmt: skip
    return Sampling(tuple(rows))


@dataclass(frozen=True)
class Scan(_Rows):
    """LRU and LFU through a scan (keys asked for once, in the middle of the workload): the workload's hit ratio
    in the window before the scan and in the window after it, per policy; `hits` per request, to plot."""

    HEADERS = {"policy": N_("policy"), "before": N_("hit ratio before the scan"),
               "after": N_("hit ratio just after"), "lost": N_("points lost")}  # fmt: skip
    hits: dict = field(default_factory=dict)
    scan_at: int = 0
    scan_length: int = 0

    def checks(self) -> list[Mark]:
        lost = {r["policy"]: r["lost"] for r in self.rows}
        figure = _("LRU lost {lru} points, LFU {lfu}").format(lru=thousands(f"{lost['allkeys-lru']:.1f}"),
                                                              lfu=thousands(f"{lost['allkeys-lfu']:.1f}"))  # fmt: skip
        return [check("08.scan", _("Under a scan, LFU keeps more of its hit ratio than LRU"),
                      lost["allkeys-lfu"] < lost["allkeys-lru"], figure, "lab.eviction.scan(lab.eviction.Workload())")]  # fmt: skip


def scan(workload: Workload, size: float = 0.2, length: float = 2.0, window: int = 2_000) -> Scan:
    """The workload with `length` × the keys that fit scanned in its middle, under allkeys-lru and allkeys-lfu."""
    room = max(1, round(size * workload.keys))
    at, count = len(workload.trace) // 2, max(1, round(length * room))
    trace = policies.with_scan(workload.trace, at, count, first_key=workload.keys + 1)
    rows, hits = [], {}
    for policy in ("allkeys-lru", "allkeys-lfu"):
        with small_cache(policy) as cache:
            cache.room_for(room, cache.per_key())
            hits[policy] = cache.run(trace)
        before = policies.hit_ratio(hits[policy][at - window : at])
        after = policies.hit_ratio(hits[policy][at + count : at + count + window])
        rows.append({"policy": policy, "before": before, "after": after, "lost": (before - after) * 100})
    return Scan(tuple(rows), hits, at, count)
