"""Chapter 08's experiments on real throwaway servers: policies beside the offline bounds, a scan, the LRU clock."""

from __future__ import annotations

import pytest

from lab import eviction

from .conftest import lab_processes, one_binary

SMALL = eviction.Workload(keys=1_000, requests=10_000)


@one_binary
def test_every_policy_stays_below_the_optimum_and_grows_with_room(lab_home, redis_server, monkeypatch):
    monkeypatch.setenv("LAB_REDIS_SERVER", redis_server)
    result = eviction.compare(SMALL, (0.1, 0.4), ("allkeys-lru", "allkeys-lfu", "allkeys-random"))
    assert len(result.rows) == 6 and {m.id: m.ok for m in result.marks()} == {
        "08.below_optimum": True,
        "08.grows": True,
    }
    for row in result.rows:
        assert 0 < row["held"] < SMALL.keys and row["evicted_keys"] > 0  # it filled up and evicted
        assert row["used_memory"] <= row["maxmemory"] * 1.01  # evictions keep it at the limit
        assert row["exact_lru"] <= row["optimum"]
    lfu, lru = (result.of(policy)[0]["hit_ratio"] for policy in ("allkeys-lfu", "allkeys-lru"))
    assert lfu > lru  # a skewed workload in a one-second run: frequency tells the hot keys, Redis's LRU clock cannot
    assert lab_processes(lab_home, children=True) == []  # the throwaway servers are gone


@one_binary
def test_a_scan_costs_lru_more_than_lfu(lab_home, redis_server, monkeypatch):
    monkeypatch.setenv("LAB_REDIS_SERVER", redis_server)
    result = eviction.scan(SMALL, size=0.2, window=1_000)
    assert [m.id for m in result.marks() if m.ok] == ["08.scan"]
    assert result.scan_length == 400 and len(result.hits["allkeys-lru"]) == SMALL.requests + 400


def test_a_made_up_check_fails_when_a_policy_beats_the_optimum():
    rows = ({"policy": "allkeys-lru", "size": 0.1, "hit_ratio": 0.9, "optimum": 0.8},
            {"policy": "allkeys-lru", "size": 0.5, "hit_ratio": 0.7, "optimum": 0.9})  # fmt: skip
    marks = {m.id: m.ok for m in eviction.Policies(rows).marks()}
    assert marks == {"08.below_optimum": False, "08.grows": False}


@pytest.mark.slow
@one_binary
def test_more_samples_bring_redis_lru_nearer_the_exact_one_when_the_run_lasts(lab_home, redis_server, monkeypatch):
    """Spread over seconds (Redis's LRU clock counts seconds), 10 samples evict nearer the exact LRU than 1."""
    monkeypatch.setenv("LAB_REDIS_SERVER", redis_server)
    result = eviction.sampling(eviction.Workload(2_000, 12_000), 0.1, (1, 10), over=6.0)
    gaps = {r["samples"]: r["exact_lru"] - r["hit_ratio"] for r in result.rows}
    assert all(gap > 0 for gap in gaps.values()), gaps  # an approximation: below the exact LRU
    assert [m.id for m in result.marks() if m.ok] == ["08.samples"], gaps
