"""Chapter 08's experiments on real throwaway servers: policies beside the offline bounds, a scan, the LRU clock,
a cache filling to its limit, noeviction and the lookup, maxmemory sized from a measurement, the replica."""

from __future__ import annotations

import pytest

from lab import eviction

from .conftest import lab_processes, one_binary

SMALL = eviction.Workload(keys=1_000, requests=10_000)


@one_binary
def test_every_policy_stays_below_the_optimum_and_grows_with_room(lab_home, redis_server, monkeypatch):
    monkeypatch.setenv("LAB_REDIS_SERVER", redis_server)
    result = eviction.compare(SMALL, (0.1, 0.4), ("allkeys-lru", "allkeys-lfu", "allkeys-random"))
    assert (
        len(result.rows) == 6
        and result.bound_seconds < 5
        and {m.id: m.ok for m in result.marks()}
        == {
            "08.below_optimum": True,
            "08.grows": True,
        }
    )
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
    lru, lfu = (r["recovered_after"] for r in result.rows)
    assert lfu is not None and (lru is None or lfu <= lru), result.rows  # LFU is back first


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
    result = eviction.start_sampling(eviction.Workload(2_000, 12_000), 0.1, (1, 10), over=6.0).result()
    gaps = {r["samples"]: r["exact_lru"] - r["hit_ratio"] for r in result.rows}
    assert all(gap > 0 for gap in gaps.values()), gaps  # an approximation: below the exact LRU
    assert [m.id for m in result.marks() if m.ok] == ["08.samples"], gaps


@one_binary
def test_evictions_start_at_the_limit_and_keep_memory_there(lab_home, redis_server, monkeypatch):
    monkeypatch.setenv("LAB_REDIS_SERVER", redis_server)
    filled = eviction.filling(200)
    assert [m.id for m in filled.marks() if m.ok] == ["08.on_the_limit"]
    assert filled.rows[1]["evicted_keys"] == 0 and filled.rows[-1]["evicted_keys"] > 0
    assert filled.rows[-1]["held"] < 400 and filled.per_key() > 200  # a key costs more than its 200-byte value


def test_a_made_up_filling_that_evicts_below_the_limit_fails():
    rows = tuple({"written": w, "held": w, "used_memory": 1000 + 300 * w, "maxmemory": 100_000,
                  "evicted_keys": 0 if w < 20 else w - 20} for w in range(0, 100, 10))  # fmt: skip
    assert [m.ok for m in eviction.Filling(rows).marks()] == [False]  # evicted while far below the limit


@one_binary
def test_noeviction_refuses_writes_with_oom_and_the_lookup_answers_from_the_database(
    lab_home, redis_server, monkeypatch
):
    monkeypatch.setenv("LAB_REDIS_SERVER", redis_server)
    result = eviction.noeviction(200)
    assert [m.id for m in result.marks() if m.ok] == ["08.noeviction"]
    assert result.refused.startswith("OOM command not allowed") and result.written > 0
    row = result.rows[0]
    assert row["source"] == "slow_db" and row["value"] and row["cache_state"] == "miss, not stored"
    assert "noeviction" in row["warning"] and "maxmemory" in row["warning"]


@one_binary
def test_maxmemory_from_memory_usage_alone_holds_too_few_keys_and_from_the_measured_cost_all(
    lab_home, redis_server, monkeypatch
):
    monkeypatch.setenv("LAB_REDIS_SERVER", redis_server)
    sized = eviction.sizing(1_500)
    alone, measured = sized.rows
    assert [m.id for m in sized.marks() if m.ok] == ["08.sized"]
    assert sized.measured > sized.usage > sized.value_bytes  # MEMORY USAGE undercounts what a key costs
    assert alone["held"] < 1_500 and alone["evicted_keys"] > 0
    assert measured["held"] == 1_500 and measured["evicted_keys"] == 0


@one_binary
def test_the_replica_ignores_its_maxmemory_and_follows_the_masters_evictions(lab_home, redis_server, monkeypatch):
    monkeypatch.setenv("LAB_REDIS_SERVER", redis_server)
    result = eviction.replica_follows(200)
    master, replica = result.rows
    assert [m.id for m in result.marks() if m.ok] == ["08.replica_follows"] and result.ignore == "yes"
    assert master["held"] == replica["held"] > 0 and master["evicted_keys"] > 0 == replica["evicted_keys"]
    assert lab_processes(lab_home, children=True) == []


@one_binary
def test_the_script_looks_keys_up_as_cache_aside_does(lab_home, redis_server, monkeypatch):
    """The same lookups through chapter 03's CacheAside and as the chapter's server-side script: hit ratios
    within what Redis's random sampling explains, on the same kind of small cache."""
    monkeypatch.setenv("LAB_REDIS_SERVER", redis_server)
    result = eviction.through_the_lookup(SMALL, size=0.2, count=1_500)
    lookup, script = result.rows
    assert lookup["lookup"].startswith("CacheAside") and 0.3 < lookup["hit_ratio"] < 0.95
    assert abs(lookup["hit_ratio"] - script["hit_ratio"]) < 0.06, result.rows
