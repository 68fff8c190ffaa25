"""The offline bounds chapter 08 sets beside Redis: an exact LRU and Belady's optimum, checked against brute force."""

from __future__ import annotations

import random
from functools import lru_cache

import pytest

from lab.cache import policies


def _best_possible(trace: list[int], capacity: int) -> int:
    """The most hits any policy can get (every choice tried: evict any cached key, or do not keep the new one)."""

    @lru_cache(None)
    def best(position: int, cached: frozenset) -> int:
        if position == len(trace):
            return 0
        key = trace[position]
        if key in cached:
            return 1 + best(position + 1, cached)
        choices = [best(position + 1, cached)]
        if len(cached) < capacity:
            choices.append(best(position + 1, cached | {key}))
        else:
            choices += [best(position + 1, (cached - {victim}) | {key}) for victim in cached]
        return max(choices)

    return best(0, frozenset())


def test_the_optimum_is_the_best_possible_and_never_below_lru():
    rng = random.Random(20261202)
    for _ in range(400):
        trace = [rng.randrange(6) for _ in range(rng.randrange(1, 13))]
        capacity = rng.randrange(1, 4)
        optimum = sum(policies.optimum_hits(trace, capacity))
        assert optimum == _best_possible(trace, capacity), (trace, capacity)
        assert optimum >= sum(policies.lru_hits(trace, capacity))


def test_lru_evicts_the_least_recently_used():
    #        a  b  a  c  b  a     capacity 2: c evicts b (a was used after b), so b misses, then a is gone
    hits = policies.lru_hits([0, 1, 0, 2, 1, 0], 2)
    assert hits == [False, False, True, False, False, False]
    assert policies.lru_hits([0, 0], 0) == [False, False]  # no room: nothing is kept


def test_a_zipf_trace_is_skewed_and_the_same_for_the_same_seed():
    trace = policies.zipf_trace(1000, 20_000)
    assert trace == policies.zipf_trace(1000, 20_000) and trace != policies.zipf_trace(1000, 20_000, seed=9)
    counts = sorted((trace.count(k) for k in set(trace)), reverse=True)
    top_ten = sum(counts[:10]) / len(trace)
    assert 0.25 < top_ten < 0.5  # α = 1 over 1,000 keys: the 10 most popular take about a third of the requests
    assert set(trace) <= set(range(1000))
    with pytest.raises(ValueError):
        policies.zipf_trace(0, 10)


def test_a_scan_is_keys_asked_for_once_and_costs_lru_hits_the_optimum_keeps():
    trace = policies.zipf_trace(500, 10_000)
    scanned = policies.with_scan(trace, 5_000, 400, first_key=10_000)
    assert len(scanned) == 10_400 and scanned[5_000:5_400] == list(range(10_000, 10_400))

    def workload_hits(hits: list[bool]) -> int:  # the hits of the workload's own requests, the scan's left out
        return sum(hits[:5_000]) + sum(hits[5_400:])

    lru_lost = sum(policies.lru_hits(trace, 100)) - workload_hits(policies.lru_hits(scanned, 100))
    optimum_lost = sum(policies.optimum_hits(trace, 100)) - workload_hits(policies.optimum_hits(scanned, 100))
    assert lru_lost > 0 and optimum_lost == 0  # LRU keeps the scan and loses the hot keys; the optimum keeps none


def test_hit_ratio_grows_with_capacity():
    trace = policies.zipf_trace(2000, 20_000)
    for ratio in (policies.lru_hit_ratio, policies.optimum_hit_ratio):
        ratios = [ratio(trace, capacity) for capacity in (50, 200, 800, 2000)]
        assert ratios == sorted(ratios) and ratios[0] < ratios[-1]
    assert policies.hit_ratio([True, False, True, True], skip=2) == 1.0
