"""A cache that fills up, for chapter 08: a throwaway server (a few MB of `maxmemory`, an eviction policy; the
lab's pair untouched) and a skewed workload of lookups run on it in order.

    workload = Workload(keys=5_000, requests=100_000)     # Zipf, α≈1: a few keys asked for all the time
    with small_cache("allkeys-lfu") as cache:
        cache.room_for(1_000, cache.per_key())            # maxmemory: its baseline, buffers, 1,000 keys
        hits = cache.run(workload.trace)                  # hit or miss of each lookup, in the trace's order

Each lookup is a small script on the server — `GET`; on a miss `SET` the value with its TTL: the cache-aside
lookup, with a database whose answer is a value of a fixed size — sent `BATCH` per round trip (pipelined) but
executed one after the other, Redis evicting before each, as it does before every command while over the limit.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

from ..servers.scratch import scratch_servers
from ..state.keys import KeySchema
from . import policies

VALUE_BYTES = 200  # every value the same size, so that bytes and keys convert
TTL_MS = 600_000  # every cached key has a TTL (what volatile-* policies need), longer than any run
BATCH = 100  # lookups per round trip
BUFFERS = 16 * 1024  # bytes left above the keys for the connection's buffers (Redis counts them as used memory)
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

    def popularity(self):
        """A frame: the most requested share of the keys (`share_of_keys`) and the share of the requests they get."""
        import numpy as np
        import pandas as pd

        counts = np.sort(np.bincount(self.trace, minlength=self.keys))[::-1]
        return pd.DataFrame({"share_of_keys": np.arange(1, self.keys + 1) / self.keys,
                             "share_of_requests": np.cumsum(counts) / len(self.trace)})  # fmt: skip

    def top_share(self, share: float) -> float:
        """The share of the requests that go to the most requested `share` of the keys."""
        return float(self.popularity().share_of_requests.iloc[max(0, round(share * self.keys) - 1)])


def key_name(number: int) -> str:
    """Key `number` as Redis holds it: where `CacheAside` keeps the lookup of `lookup_name(number)`."""
    return KeySchema("").value(lookup_name(number))


def lookup_name(number: int) -> str:
    return f"{number:06d}"


class FixedValues:
    """These lessons' database for `CacheAside`: every key's value is VALUE_BYTES bytes, answered at once."""

    delay = 0.0

    def __init__(self):
        self.reads = 0

    def read(self, key: str) -> str:
        self.reads += 1
        return "v" * VALUE_BYTES


class SmallCache:
    """A throwaway server with an eviction policy: empty it, give it room for so many keys, run a trace."""

    def __init__(self, client):
        import redis

        self.client = client
        self.script = client.script_load(LOOKUP)
        self.packed: dict[int, bytes] = {}  # each key's lookup, as sent (built once)
        self.refused = 0
        self.last_error = ""
        self.evicted_before = 0  # evicted_keys when it was last emptied (CONFIG RESETSTAT would free and regrow
        try:  # Redis 7's per-command latency histograms, about 24 KB each, counted in used_memory): switched off
            client.config_set("latency-tracking", "no")
        except redis.ResponseError:  # Redis 6.2 has none
            pass

    def configure(self, **settings_: object) -> None:
        for name, value in settings_.items():
            self.client.config_set(name.replace("_", "-"), value)

    def empty(self) -> int:
        """No keys, no limit, evictions counted from now; the memory it uses empty (its baseline)."""
        self.client.config_set("maxmemory", 0)
        self.client.flushall()
        self.evicted_before = int(self.client.info("stats")["evicted_keys"])
        return self.used_memory()

    def used_memory(self) -> int:
        return int(self.client.info("memory")["used_memory"])

    def per_key(self) -> int:
        """`MEMORY USAGE` of one key as the lookups cache it (its name, its value and the entry holding them)."""
        self.client.set(key_name(999_999), "v" * VALUE_BYTES, px=TTL_MS)
        try:
            return int(self.client.memory_usage(key_name(999_999)))
        finally:
            self.client.delete(key_name(999_999))

    def measured_per_key(self, keys: int = 1_000) -> float:
        """What one more key adds to used_memory, measured: `keys` keys written into the empty server (after a
        first batch that grows the connection's buffers), the growth divided by their number; emptied after.
        More than `MEMORY USAGE` says: that leaves out the key's TTL entry and its slots in the hash tables."""
        self.empty()
        self.write(range(BATCH))
        warm = self.used_memory()
        self.write(range(BATCH, keys))
        grown = (self.used_memory() - warm) / max(1, keys - BATCH)
        self.empty()
        return grown

    def room_for(self, keys: int, per_key: int, buffers: int = BUFFERS) -> int:
        """Empty the server, then set maxmemory to its baseline, the buffers of a pipelined connection and `keys`
        keys of `per_key` bytes; the limit set (what it really holds, DBSIZE after a run, is what bounds use)."""
        limit = self.empty() + buffers + round(keys * per_key)
        self.client.config_set("maxmemory", limit)
        return limit

    def run(self, trace: Sequence[int], over: float = 0.0) -> list[bool]:
        """Each key of `trace` looked up in order (BATCH per round trip): hit or miss of each. A lookup whose SET
        Redis refused (OOM: nothing it may evict) is a miss that cached nothing; `refused` counts them.
        `over`: seconds to spread the run over (Redis's LRU clock counts whole seconds: within one second every
        key looks as recent as any other, and its LRU cannot tell them apart)."""
        import redis

        pause = over / max(1, -(-len(trace) // BATCH))
        hits: list[bool] = []
        self.refused = 0
        pool = self.client.connection_pool
        connection = pool.get_connection()
        try:
            for start in range(0, len(trace), BATCH):
                batch = trace[start : start + BATCH]
                connection.send_packed_command([b"".join(self._packed(connection, n) for n in batch)], False)
                for _ in batch:
                    try:
                        hits.append(connection.read_response() == 1)
                    except redis.ResponseError as exc:
                        self.refused, self.last_error = self.refused + 1, redis_words(exc)
                        hits.append(False)
                if pause:
                    time.sleep(pause)
        finally:
            pool.release(connection)
        return hits

    def write(self, numbers: Sequence[int]) -> int:
        """The cache-aside lookup's write alone (`SET` with the TTL) for each key of `numbers`, BATCH per round
        trip: plain SETs, no script, for measurements of memory; how many Redis refused."""
        replies = []
        for start in range(0, len(numbers), BATCH):
            pipe = self.client.pipeline(transaction=False)
            for number in numbers[start : start + BATCH]:
                pipe.set(key_name(number), "v" * VALUE_BYTES, px=TTL_MS)
            replies += pipe.execute(raise_on_error=False)
        refused = [reply for reply in replies if isinstance(reply, Exception)]
        if refused:
            self.last_error = redis_words(refused[-1])
        return len(refused)

    def _packed(self, connection, number: int) -> bytes:
        packed = self.packed.get(number)
        if packed is None:
            command = ("EVALSHA", self.script, 1, key_name(number), VALUE_BYTES, TTL_MS)
            packed = self.packed[number] = b"".join(connection.pack_command(*command))
        return packed

    def run_lookups(self, trace: Sequence[int]) -> list[bool]:
        """Each key of `trace` looked up in order through chapter 03's `CacheAside` (one round trip for a hit, a
        write more on a miss), over `FixedValues`: hit or miss of each."""
        from .lookup import CacheAside

        lookup = CacheAside(FixedValues(), client=self.client, keys=KeySchema(""), ttl=TTL_MS / 1000,
                            stampede_protection=None)  # fmt: skip
        return [lookup.get(lookup_name(number)).source == "cache" for number in trace]

    def counters(self) -> dict[str, int]:
        memory, stats = self.client.info("memory"), self.client.info("stats")
        return {"held": int(self.client.dbsize()), "evicted_keys": int(stats["evicted_keys"]) - self.evicted_before,
                "used_memory": int(memory["used_memory"]), "maxmemory": int(memory["maxmemory"])}  # fmt: skip


def redis_words(error: Exception) -> str:
    """An error reply as Redis sent it: redis-py turns its code (OOM) into the exception's class."""
    import redis

    return ("OOM " if isinstance(error, redis.OutOfMemoryError) else "") + str(error)


def _settings(policy: str, samples: int) -> str:
    return f"maxmemory-policy {policy}\nmaxmemory-samples {samples}\n"


@contextmanager
def small_cache(policy: str = "allkeys-lru", samples: int = 5) -> Iterator[SmallCache]:
    """A throwaway server (a child of this process, stopped after) with `policy` and `maxmemory-samples`."""
    with scratch_servers(1, extra=_settings(policy, samples)) as (server,):
        yield SmallCache(server)


@contextmanager
def small_pair(policy: str = "allkeys-lru") -> Iterator[tuple[SmallCache, SmallCache]]:
    """Two throwaway servers with `policy`, the second a replica of the first (a backlog of 16 KB, not 1 MB: it
    is used memory too, and would take the room of the keys)."""
    extra = _settings(policy, 5) + "repl-backlog-size 16kb\n"
    with scratch_servers(2, replicated=True, extra=extra) as (master, replica):
        yield SmallCache(master), SmallCache(replica)
