"""Latency measurements through the real lookup path, returned as tidy pandas DataFrames.

One row per sample: `variant`, `latency_us`, `sample`, `t` (seconds since the run started). Variants
that are compared (a cache hit and a raw redis-py GET, master and replica, ...) are measured
alternately in the same loop, on the same server, so that a noisy machine affects both alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..cache.lookup import CacheAside
from ..cache.slowdb import SlowDB
from ..core import fix
from ..core.errors import LabError
from ..servers import clients
from ..state import settings
from ..state.keys import KeySchema
from .progress import progress

KEY = "test-key"


@dataclass(frozen=True)
class BenchConfig:
    """Sample counts and the miss delay of one run (the CLI's defaults take a few seconds)."""

    hit_samples: int = 3000
    miss_samples: int = 40
    miss_delay: float = 0.02  # seconds: short, with jitter, to draw a distribution
    miss_jitter: float = 0.01
    new_client_samples: int = 300
    stampede_clients: int = 50

    LIMITS = {"hit_samples": 200_000, "miss_samples": 2_000, "new_client_samples": 20_000, "stampede_clients": 500}

    def check(self) -> None:
        """Every count a whole number within its range (a run of hours helps nobody), every delay sane."""
        for name, most in self.LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
                raise LabError(f"{name.replace('_', '-')}={value!r} is not allowed: give a whole number from 1 to "
                               f"{most:,} (e.g. {name.replace('_', '-')}={min(1000, most)}).".replace(",", " "))  # fmt: skip
        settings.check_seconds("miss_delay", self.miss_delay, 0.0, 1.0)
        settings.check_seconds("miss_jitter", self.miss_jitter, 0.0, 1.0)


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - start) / 1000


def alternate(variants: dict[str, Callable[[], object]], samples: int, desc: str) -> list[dict]:
    """Time each variant once per round, alternating which goes first; one row per sample."""
    names = list(variants)
    rows: list[dict] = []
    t0 = time.perf_counter()
    for fn in variants.values():  # warm-up: connections open, scripts cached
        fn()
    for i in progress(range(samples), desc=desc, unit="rounds"):
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            latency = _timed(variants[name])
            rows.append({"variant": name, "latency_us": latency, "sample": i, "t": time.perf_counter() - t0})
    return rows


def tidy_frame(rows: list[dict]):
    """Latency rows as the tidy DataFrame every measurement returns: variant, latency_us, sample, t."""
    import pandas as pd

    return pd.DataFrame(rows, columns=["variant", "latency_us", "sample", "t"])


def hits(samples: int = 3000, db: SlowDB | None = None, with_pipeline: bool = False):
    """Cache hits against raw redis-py GETs of the same key, the same user, the same server (and, with
    `with_pipeline`, hits read through redis-py's pipeline idiom instead of the hand-packed round trip)."""
    cache = CacheAside(db or SlowDB(delay=0))
    idiom = CacheAside(cache.db, read_path="pipeline")
    cache.get(KEY)
    raw = clients.client("master", "app")
    rkey = KeySchema().value(KEY)
    variants = {"cache hit": lambda: cache.get(KEY), "raw GET": lambda: raw.get(rkey)}
    if with_pipeline:
        variants["cache hit (redis-py pipeline)"] = lambda: idiom.get(KEY)
    return tidy_frame(alternate(variants, samples, "hits vs GET"))


def misses(samples: int = 40, delay: float = 0.02, jitter: float = 0.01, label: str | None = None):
    """Cache misses with a database delay (and jitter): invalidate, then look up."""
    db = SlowDB(delay=delay, jitter=jitter)
    cache = CacheAside(db)
    name = label or f"miss ({delay * 1000:.0f} ms db)"
    rows = []
    t0 = time.perf_counter()
    for i in progress(range(samples), desc=name, unit="misses"):
        cache.invalidate(KEY)
        rows.append(
            {"variant": name, "latency_us": _timed(lambda: cache.get(KEY)), "sample": i, "t": time.perf_counter() - t0}
        )
    return tidy_frame(rows)


def miss_overhead(samples: int = 200):
    """Misses with the database delay at 0 next to hits: what the cache itself adds on a miss."""
    db = SlowDB(delay=0)
    cache = CacheAside(db)

    def miss():
        cache.invalidate(KEY)  # not timed: the next lookup is a miss
        return _timed(lambda: cache.get(KEY))

    rows = []
    t0 = time.perf_counter()
    for i in progress(range(samples), desc="miss overhead", unit="rounds"):
        rows.append({"variant": "miss (0 ms db)", "latency_us": miss(), "sample": i, "t": time.perf_counter() - t0})
        rows.append(
            {
                "variant": "cache hit",
                "latency_us": _timed(lambda: cache.get(KEY)),
                "sample": i,
                "t": time.perf_counter() - t0,
            }
        )
    return tidy_frame(rows)


def master_vs_replica(samples: int = 2000):
    """The same cache hit read from the master and from the replica."""
    db = SlowDB(delay=0)
    on_master = CacheAside(db)
    on_replica = CacheAside(db, client=clients.client("replica", "app"))
    on_master.get(KEY)
    _wait_replicated(KeySchema().value(KEY))
    return tidy_frame(
        alternate(
            {"hit on master": lambda: on_master.get(KEY), "hit on replica": lambda: on_replica.get(KEY)},
            samples,
            "master vs replica",
        )
    )


def _wait_replicated(rkey: str, timeout: float = 5.0) -> None:
    replica = clients.client("replica")
    deadline = time.monotonic() + timeout
    while replica.exists(rkey) == 0 and time.monotonic() < deadline:
        time.sleep(0.005)


def connection_reuse(samples: int = 300):
    """One reused client against a new client (connect, log in, GET, close) per request."""
    s = settings.load()
    reused = clients.client("master", "app", s=s)
    new_client = clients.factory("master", "app", s=s)  # settings and passwords read once, outside the timer
    rkey = KeySchema().value(KEY)
    CacheAside(SlowDB(delay=0)).get(KEY)

    def fresh():  # what an app without a pool does per request: construct, connect, log in, GET, close
        with new_client() as c:
            c.get(rkey)

    return tidy_frame(
        alternate(
            {"reused client": lambda: reused.get(rkey), "new client per request": fresh}, samples, "connection reuse"
        )
    )


def round_trips(samples: int = 2000):
    """GET and PTTL pipelined in one round trip against two sequential round trips."""
    raw = clients.client("master", "app")
    rkey = KeySchema().value(KEY)
    CacheAside(SlowDB(delay=0)).get(KEY)

    def pipelined():
        pipe = raw.pipeline(transaction=False)
        pipe.get(rkey)
        pipe.pttl(rkey)
        return pipe.execute()

    def sequential():
        return raw.get(rkey), raw.pttl(rkey)

    return tidy_frame(
        alternate({"pipelined GET+PTTL": pipelined, "sequential GET, PTTL": sequential}, samples, "round trips")
    )


def percentiles(df, unit: str = "us"):
    """p50/p90/p99/max per variant (a table for the chapter and the JSON)."""
    scale = 1000 if unit == "ms" else 1
    table = df.groupby("variant", sort=False)["latency_us"].describe(percentiles=[0.5, 0.9, 0.99])
    table = table[["count", "50%", "90%", "99%", "max"]].rename(columns={"50%": "p50", "90%": "p90", "99%": "p99"})
    table[["p50", "p90", "p99", "max"]] = table[["p50", "p90", "p99", "max"]] / scale
    table["count"] = table["count"].astype(int)
    return table.rename(columns={c: f"{c}_{unit}" for c in ("p50", "p90", "p99", "max")})


def percentile_table(df):
    """p50/p90/p99/max per variant, in µs, rounded for reading (counts as whole numbers)."""
    return percentiles(df).round(1)


def stampede(clients_: int = 50, delay: float = 0.05) -> dict[str, int]:
    """Database reads for `clients_` concurrent misses on one key, without and with protection."""
    from .cache_lessons import stampede as experiment

    rows = experiment(SlowDB(delay=delay), "sku-0042", clients_)
    names = ("unprotected", "single_flight", "lock")
    return {f"stampede_db_reads_{name}": r["database reads"] for name, r in zip(names, rows, strict=True)}


def run(config: BenchConfig | None = None) -> dict:
    """The default benchmark: every comparison, summarised as one JSON-ready dict."""
    from ..servers import pair as servers

    config = config or BenchConfig()
    config.check()
    if not servers.is_up():
        problems = [note.removeprefix("❌ ") for note in servers.status().notes if note.startswith("❌")]
        raise LabError(problems[0] if problems else f"The lab is not running; start it with {fix.command('up')}.")
    start = time.perf_counter()
    hit = hits(config.hit_samples)
    overhead = miss_overhead(max(50, config.miss_samples * 5))
    miss = misses(config.miss_samples, config.miss_delay, config.miss_jitter)
    replica = master_vs_replica(max(1, config.hit_samples // 2))
    reuse = connection_reuse(config.new_client_samples)
    trips = round_trips(max(1, config.hit_samples // 2))
    p50 = {}
    for frame in (hit, overhead, miss, replica, reuse, trips):
        p50.update(frame.groupby("variant", sort=False)["latency_us"].median().to_dict())
    p99 = hit.groupby("variant")["latency_us"].quantile(0.99).to_dict()
    overhead_hit = overhead[overhead.variant == "cache hit"].latency_us.median()
    status = servers.status()[0]
    summary = {
        "hit_p50_us": round(hit[hit.variant == "cache hit"].latency_us.median(), 1),
        "hit_p99_us": round(p99["cache hit"], 1),
        "raw_get_p50_us": round(p50["raw GET"], 1),
        "raw_get_p99_us": round(p99["raw GET"], 1),
        "hit_over_raw_get": round(hit[hit.variant == "cache hit"].latency_us.median() / p50["raw GET"], 3),
        "miss_p50_ms": round(p50[miss.variant.iloc[0]] / 1000, 2),
        "miss_db_delay_ms": config.miss_delay * 1000,
        "miss_db_jitter_ms": config.miss_jitter * 1000,
        "miss_without_db_delay_p50_us": round(p50["miss (0 ms db)"], 1),
        "miss_without_db_delay_over_hit": round(p50["miss (0 ms db)"] / overhead_hit, 2),
        "hit_on_replica_p50_us": round(p50["hit on replica"], 1),
        "hit_on_master_p50_us": round(p50["hit on master"], 1),
        "reused_client_p50_us": round(p50["reused client"], 1),
        "new_client_p50_us": round(p50["new client per request"], 1),
        "new_over_reused": round(p50["new client per request"] / p50["reused client"], 1),
        "pipelined_p50_us": round(p50["pipelined GET+PTTL"], 1),
        "sequential_p50_us": round(p50["sequential GET, PTTL"], 1),
        **stampede(config.stampede_clients),
        "samples": {
            "hit": config.hit_samples,
            "raw_get": config.hit_samples,
            "miss": config.miss_samples,
            "miss_without_db_delay": max(50, config.miss_samples * 5),
            "new_client": config.new_client_samples,
        },
        "redis_version": status.version,
        "redis_binary": status.binary,
        "wall_s": round(time.perf_counter() - start, 2),
    }
    return summary
