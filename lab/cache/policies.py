"""Cache replacement computed offline, on a request trace, for chapter 08 to set beside a real Redis: a skewed
workload (Zipf: a few keys are asked for all the time, most rarely), a scan (a burst of keys asked for once), and
the hit ratio two policies would reach with a cache of `capacity` keys — an exact LRU, and Belady's optimum
(on a miss with a full cache, evict the key whose next use is farthest in the future, or do not keep the new
one if it is that key: no policy can do better, since it sees the future).

    trace = zipf_trace(keys=5_000, requests=100_000)     # key numbers, the same for the same seed
    lru_hit_ratio(trace, 1_000), optimum_hit_ratio(trace, 1_000)

A request is a hit when its key is cached; on a miss the key is cached (cache-aside), evicting one if full.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Sequence

NEVER = 1 << 62  # the "next use" of a key that is not asked for again


def zipf_trace(keys: int, requests: int, alpha: float = 1.0, seed: int = 8) -> list[int]:
    """`requests` key numbers in [0, keys): key k asked for with probability ∝ 1 / (k + 1) ** alpha."""
    import numpy as np

    if keys < 1 or requests < 1 or not 0 <= alpha <= 3:
        raise ValueError("keys and requests must be at least 1, alpha between 0 and 3")
    weights = 1.0 / np.arange(1, keys + 1) ** alpha
    rng = np.random.default_rng(seed)
    return rng.choice(keys, size=requests, p=weights / weights.sum()).tolist()


def with_scan(trace: Sequence[int], at: int, length: int, first_key: int) -> list[int]:
    """`trace` with a scan inserted before request `at`: `length` keys from `first_key` on, each asked for once
    (a report reading every record, a crawler) — keys the workload never asks for again."""
    return [*trace[:at], *range(first_key, first_key + length), *trace[at:]]


def lru_hits(trace: Sequence[int], capacity: int) -> list[bool]:
    """Hit or miss of each request under an exact LRU of `capacity` keys (the least recently used goes)."""
    cache: OrderedDict[int, None] = OrderedDict()
    hits = []
    for key in trace:
        if key in cache:
            cache.move_to_end(key)
            hits.append(True)
            continue
        hits.append(False)
        if capacity <= 0:
            continue
        if len(cache) >= capacity:
            cache.popitem(last=False)
        cache[key] = None
    return hits


def next_uses(trace: Sequence[int]) -> list[int]:
    """For each request, the position of the next request for the same key (NEVER if there is none)."""
    following: dict[int, int] = {}
    result = [NEVER] * len(trace)
    for position in range(len(trace) - 1, -1, -1):
        key = trace[position]
        result[position] = following.get(key, NEVER)
        following[key] = position
    return result


def optimum_hits(trace: Sequence[int], capacity: int) -> list[bool]:
    """Hit or miss of each request under Belady's optimum (MIN) with `capacity` keys: on a miss with a full
    cache, the key asked for farthest in the future goes — the new key itself if it is that one (not kept)."""
    upcoming = next_uses(trace)
    cached: dict[int, int] = {}  # key -> the position of its next use
    farthest: list[tuple[int, int]] = []  # (-next use, key), stale entries skipped when popped
    hits = []
    for position, key in enumerate(trace):
        following = upcoming[position]
        if key in cached:
            hits.append(True)
        else:
            hits.append(False)
            if capacity <= 0:
                continue
            if len(cached) >= capacity:
                while True:  # the cached key used farthest away (entries whose next use changed are stale)
                    use, victim = heapq.heappop(farthest)
                    if cached.get(victim) == -use:
                        break
                if -use <= following:  # the new key is needed later than every cached one: keep the cache as is
                    heapq.heappush(farthest, (use, victim))
                    continue
                del cached[victim]
        cached[key] = following
        heapq.heappush(farthest, (-following, key))
    return hits


def hit_ratio(hits: Sequence[bool], skip: int = 0) -> float:
    """The share of hits, leaving out the first `skip` requests (a cold cache warming up)."""
    counted = hits[skip:]
    return sum(counted) / len(counted) if counted else 0.0


def lru_hit_ratio(trace: Sequence[int], capacity: int, skip: int = 0) -> float:
    return hit_ratio(lru_hits(trace, capacity), skip)


def optimum_hit_ratio(trace: Sequence[int], capacity: int, skip: int = 0) -> float:
    return hit_ratio(optimum_hits(trace, capacity), skip)
