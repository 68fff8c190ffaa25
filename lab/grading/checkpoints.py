"""Each measuring chapter's checkpoints, as short lists: every one compares what the chapter measured with
something measured in the same run (or a setting it was given), shows the figure it saw, and names the fix.

A chapter ends with one call, e.g. `checkpoints.show(checkpoints.latency(...))`; the report collects them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from ..state.settings import conf_value
from .checks import Check, show


def _all(*checks: Check) -> list[Check]:
    return list(checks)


def _measured(chapter: str):
    """A chapter's checkpoints, or — when a measurement above is incomplete (a server went away mid-chapter, a
    cell was skipped) — one failed checkpoint that says so, with the fix: never a traceback."""

    def wrap(build):
        @functools.wraps(build)
        def checks(*args, **kwargs):
            try:
                return build(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - whatever an incomplete measurement looks like
                return [Check(f"Chapter {chapter}'s measurements are complete", False,
                              f"they could not be checked ({type(exc).__name__}: {str(exc)[:120]})",
                              "lab.up(), then run the chapter again from the top")]  # fmt: skip

        return checks

    return wrap


def show_all(checks: Iterable[Check]) -> None:
    """Display every checkpoint of a chapter (the report reads them back from the outputs)."""
    for check in checks:
        show(check)


@_measured("02")
def replication(refusal, visible, lag_samples, partition, waits, wait_samples, partial, full, failure, after,
                memory, silent):  # fmt: skip
    """Chapter 02."""
    stale = partition["stale by"]
    reads = failure["replica GET"].tolist()
    before, filled = memory.iloc[0], memory.iloc[-1]
    timeout, up_for = silent.attrs["repl_timeout"], silent.attrs["up_for_s"]
    return _all(
        Check("Replica refuses writes (READONLY)", refusal.startswith("READONLY"), refusal[:60],
              "lab.client('replica').config_get('replica-read-only')"),
        Check("Time to visible measured for every write", visible.attrs["lost"] == 0 and len(visible) == lag_samples,
              f"p50 {visible.visible_us.median():.0f} µs, SET round trip p50 {visible.rtt_us.median():.0f} µs; "
              f"{visible.attrs['lost']} of {lag_samples} never seen", "lab.up()"),
        Check("A replica evicts nothing over its maxmemory",
              filled["replica used_memory"] > filled["replica maxmemory"]
              and filled["replica evicted_keys"] == before["replica evicted_keys"]
              and filled["our keys on the replica"] == filled["our keys on the master"] > 0,
              f"used_memory {filled['replica used_memory'] // 1024} KB over maxmemory "
              f"{filled['replica maxmemory'] // 1024} KB; evicted_keys {before['replica evicted_keys']} → "
              f"{filled['replica evicted_keys']}; {filled['our keys on the replica']} of "
              f"{filled['our keys on the master']} keys there", "lab.replica_limits.replica_ignores_maxmemory()"),
        Check("A stale read during the cut, then caught up", stale.max() > 0 and stale.iloc[-1] == 0,
              f"up to {int(stale.max())} writes behind, {int(stale.iloc[-1])} at the end", "lab.up()"),
        Check("A silent partition: the link says up until repl-timeout, then down",
              up_for is not None and up_for >= timeout - 0.2 and silent.link.iloc[-1] == "up",
              f"link up for {up_for} s of a {silent.attrs['freeze_s']:g} s freeze (repl-timeout {timeout} s); "
              f"linked again {silent.attrs['relinked_s']:.1f} s after the master resumed",
              "lab.replica_limits.silent_partition(3.5, 1)"),
        Check("WAIT 1 acknowledged by the replica", waits.attrs["acknowledged"] == 1.0,
              f"{waits.attrs['acknowledged']:.0%} of {wait_samples} writes acknowledged", "lab.client().wait(1, 1000)"),
        Check("Restart → partial resync", partial["after"]["sync_partial_ok"] > partial["before"]["sync_partial_ok"],
              f"sync_partial_ok {partial['before']['sync_partial_ok']} → {partial['after']['sync_partial_ok']}",
              "lab.replication.restart_replica()"),
        Check("Beyond the backlog → full resync", full["after"]["sync_full"] > full["before"]["sync_full"],
              f"sync_full {full['before']['sync_full']} → {full['after']['sync_full']}",
              "lab.replication.resync_beyond_backlog()"),
        Check("Master killed: replica served, promoted, and the lab healed with every write",
              reads[0] == "redis cool" and reads[-1] == "kept" and after.loc["replica", "link"] == "up",
              f"replica read {reads}; heal {failure.heal_ms.dropna().iloc[-1]:.0f} ms", "lab.up()"),
    )  # fmt: skip


@_measured("03")
def cache_aside(replay, slow_db_delay, invalidation, negative, stampede, stampede_clients, outage):
    """Chapter 03: a miss pays the database delay it was given, a hit does not."""
    first, second = replay.iloc[0], replay.iloc[1]
    db_ms = slow_db_delay * 1000
    reads = stampede["database reads"].tolist()
    after_on, after_off = invalidation.iloc[1], invalidation.iloc[3]
    checks = _all(
        Check("First lookup comes from slow_db, paying the database delay",
              first.source == "slow_db" and first.ms >= db_ms * 0.9, f"{first.ms} ms (database delay {db_ms:.0f} ms)",
              "lab.cache.CacheAside.get"),
        Check("Second lookup comes from the cache, without the database delay",
              second.source == "cache" and second.ms < db_ms / 2, f"{second.ms} ms against {first.ms} ms", "lab.up()"),
        Check("After the TTL, slow_db again, then cached", list(replay.source[-2:]) == ["slow_db", "cache"],
              " → ".join(replay.source), "lab.cache.CacheAside(ttl=5)"),
        Check("Invalidation: fresh value on, stale value off",
              after_on["stale"] == "no" and after_on["source"] == "slow_db" and after_off["stale"] == "yes",
              f"on: answered {after_on['lookup answered']!r} = the database; off: answered "
              f"{after_off['lookup answered']!r} while the database held {after_off['database holds']!r}",
              "lab.cache.CacheAside(invalidate_on_write=True)"),
        Check("Negative caching spares the database", list(negative.source[-3:]) == ["slow_db", "cache", "cache"],
              " → ".join(negative.source[-3:]), "lab.cache.CacheAside(cache_not_found=True)"),
        Check("Stampede: many database reads without protection, one with it", reads[0] > 1 and reads[1:] == [1, 1],
              f"database reads {reads} for {stampede_clients} lookups",
              'lab.cache.CacheAside(stampede_protection="single-flight")'),
    )  # fmt: skip
    if outage is not None:
        checks.append(
            Check("Redis down: answered, then recovered",
                  list(outage.cache)[1:3] == ["unavailable"] * 2 and outage.source.iloc[-1] == "cache",
                  " → ".join(outage.cache), "lab.up()")
        )  # fmt: skip
    return checks


@_measured("04")
def latency(table, hits, misses, miss_delay, first, second, slow_db_delay, reuse):
    """Chapter 04: a hit against the raw GET measured beside it, a miss against its database delay."""
    p50 = table["p50_us"]
    hit_p50, miss_p50 = p50["cache hit"], p50[misses.variant.iloc[0]]
    raw_p50 = hits[hits.variant == "raw GET"].latency_us.median()
    ratio = hits[hits.variant == "cache hit"].latency_us.median() / raw_p50
    reuse_p50 = reuse.groupby("variant").latency_us.median()
    new, reused = reuse_p50["new client per request"], reuse_p50["reused client"]
    return _all(
        Check("A hit skips the database: a miss costs at least its database delay more",
              miss_p50 - hit_p50 >= miss_delay * 1e6,
              f"hit {hit_p50:.0f} µs, miss {miss_p50 / 1000:.1f} ms, database delay {miss_delay * 1000:.0f} ms",
              "lab.up()"),
        Check("A hit is one round trip: nearer one raw GET than two (ratio < 1.5)", ratio < 1.5,
              f"hit p50 {hit_p50:.0f} µs ÷ raw GET p50 {raw_p50:.0f} µs = {ratio:.2f}",
              "GET and PTTL go in one round trip (CacheAside.read_packed, chapter 03); on a busy machine, run the "
              "chapter again"),
        Check("The workshop's first request pays the database, the second does not",
              first.source == "slow_db" and first.elapsed_ms >= slow_db_delay * 900
              and second.source == "cache" and second.elapsed_ms < slow_db_delay * 500,
              f"{first.elapsed_ms:.0f} ms then {second.elapsed_ms:.2f} ms", "lab.up()"),
        Check("A new client per request is slower than a reused one", new > reused,
              f"{new:.0f} µs vs {reused:.0f} µs", "lab.client('master', 'app')"),
    )  # fmt: skip


@_measured("05")
def ttl_decay(countdown, decay, max_ttl, lazy, lazy_keys, view, cycles: int = 20):
    """Chapter 05: a TTL against the clock, with the sampling error measured with each sample."""
    import pandas as pd

    alive = countdown[(countdown.ttl_s >= 0) & (countdown.pttl_s >= 0)]  # (it may expire between TTL and PTTL)
    ttl_off, pttl_off = (alive.ttl_s - alive.ideal_s).abs(), (alive.pttl_s - alive.ideal_s).abs()
    error_ms = alive.error_s.max() * 1000
    gone_at = decay[decay.live_keys == 0].t.min()
    hz = lazy.attrs["hz"]
    never_read = lazy[lazy.phase == "never read"].groupby("expiry").keys_in_memory.last()
    in_memory = view["replica keys in memory"].tolist()
    return _all(
        Check("TTL is PTTL rounded to whole seconds: within 0.5 s of the ideal, plus each sample's error",
              (ttl_off <= 0.5 + alive.error_s).all(),
              f"worst {ttl_off.max():.2f} s; sampling error up to {error_ms:.1f} ms", "lab.ttl.single_key(2, 0.1)"),
        Check("PTTL follows the ideal within each sample's measured error", (pttl_off <= alive.error_s).all(),
              f"worst {pttl_off.max() * 1000:.1f} ms off; sampling error up to {error_ms:.1f} ms",
              "lab.ttl.single_key(2, 0.1)"),
        Check(f"Every key gone within {cycles} expire cycles of the longest TTL", gone_at <= max_ttl + cycles / hz,
              f"all gone after {gone_at:.1f} s (longest TTL {max_ttl} s, hz {hz})", "lab.client().config_get('hz')"),
        Check("Active expiry removes keys nobody reads",
              never_read["active expiry on"] == 0 and never_read["active expiry off"] == lazy_keys,
              f"left in memory: {never_read.to_dict()}", "lab.up()"),
        Check("The replica hides an expired key but keeps it until the master's DEL",
              pd.isna(view["replica GET"].iloc[1]) and in_memory == [1, 1, 0],
              f"replica keys in memory: {in_memory}", "lab.up()"),
    )  # fmt: skip


@_measured("06")
def failover(timeline, runs, lossy, after):
    """Chapter 06: a failover against the sentinels' configured `down-after-milliseconds`."""
    down_after = int(conf_value("sentinel.conf", "sentinel down-after-milliseconds")) / 1000
    failover_timeout = int(conf_value("sentinel.conf", "sentinel failover-timeout")) / 1000
    limit = down_after + 3 * failover_timeout  # noticing, then at most one retried election
    during = timeline[timeline.phase == "after the kill"]
    lost = {w: int(lossy[lossy["wait"] == w].writes_lost.sum()) for w in (False, True)}
    roles = [r.actual_role for r in after]
    return _all(
        Check("The cache kept answering during the failover, then used the new master",
              timeline.value.notna().all() and (during.cache == "unavailable").any()
              and timeline.cache.iloc[-1] == "hit",
              f"{len(timeline)} lookups, all answered; {(during.cache == 'unavailable').sum()} from the database",
              "lab.sentinel.up()"),
        Check("Sentinel waited down-after-milliseconds, then promoted the replica (p50)",
              runs.failover_s.min() >= 0.9 * down_after and runs.failover_s.median() <= limit,
              f"p50 {runs.failover_s.median():.2f} s, min {runs.failover_s.min():.2f} s (down-after {down_after:g} s; "
              f"limit {limit:g} s: an election retried once)", "lab.sentinel.up()"),
        Check("WAIT: no acknowledged write lost", lost[True] == 0,
              f"without WAIT {lost[False]} lost, with WAIT {lost[True]}", "lab.client().wait(1, 200)"),
        Check("The lab's topology is back", roles == ["master", "slave"] and after[1].link_status == "up",
              f"roles {roles}, link {after[1].link_status}", "lab.up()"),
    )  # fmt: skip


@_measured("07")
def cluster(after, served, placement, moved, lookups, failover):
    """Chapter 07: the slots really served, a failover against `cluster-node-timeout`."""
    roles = list(after.role)
    node_timeout = int(conf_value("cluster.conf", "cluster-node-timeout")) / 1000
    took = failover["failover_s"]
    return _all(
        Check("Three masters and three replicas, all 16384 slots served",
              roles.count("master") == 3 and roles.count("replica") == 3 and served == 16384,
              f"{roles.count('master')} masters, {roles.count('replica')} replicas, {served} slots served",
              "lab.cluster.down(); lab.cluster.up()"),
        Check("A hash tag puts keys in the same slot", placement.slot.iloc[-1] == placement.slot.iloc[-2],
              f"{placement.key.iloc[-2]} and {placement.key.iloc[-1]} → slot {placement.slot.iloc[-1]}",
              "lab.cluster.placement(['cache:{user:1}:name', 'cache:{user:1}:email'])"),
        Check("A plain client meets MOVED", bool(moved) and moved.startswith("MOVED"), moved or "no reply",
              "lab.cluster.moved_for_plain_client('cache:test-key')"),
        Check("Cache-aside over the cluster: slow_db then cache", lookups.source.tolist() == ["slow_db", "cache"],
              " → ".join(lookups.source), "lab.cluster.cluster_client('app')"),
        Check("A replica took over the failed master's slots, after cluster-node-timeout",
              failover["new_master_port"] != failover["killed_port"] and failover["value"] == "after the failover"
              and node_timeout * 0.9 <= took <= 4 * node_timeout + 1,
              f"in {took:.2f} s (cluster-node-timeout {node_timeout:g} s)", "lab.cluster.up()"),
    )  # fmt: skip
