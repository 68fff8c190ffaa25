"""Latency measurements through the real lookup path (chapter 04), each a result holding a tidy DataFrame.

One row per sample: `variant`, `latency_us`, `sample`, `t` (seconds since the run started). Variants
that are compared (a cache hit and a raw redis-py GET, master and replica, ...) are measured
alternately in the same loop, on the same server, so that a noisy machine affects both alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..cache.lookup import CacheAside, LookupResult
from ..cache.slowdb import SlowDB
from ..core import fix
from ..core.errors import LabError
from ..core.i18n import _, thousands
from ..core.marks import Mark, check
from ..core.text import number
from ..servers.context import Lab, context
from ..state import settings
from .progress import progress
from .results import Measured, percentile_table, percentiles  # noqa: F401 - bench.percentile_table, as chapters call it

KEY = "test-key"
APP_VARIANTS = ("bare cache hit", "empty Flask route", "cached request through the app")


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
                option, said, largest = name.replace("_", "-"), repr(value).replace(",", " "), f"{most:,}"
                raise LabError(
                    _(
                        "{option}={value} is not allowed: give a whole number from 1 to {most} "
                        "(e.g. {option}={example})."
                    ).format(
                        option=option, value=said, most=thousands(largest.replace(",", " ")), example=min(1000, most)
                    )
                )
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
    for i in progress(range(samples), desc=desc, unit=_("rounds")):
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            latency = _timed(variants[name])
            rows.append({"variant": name, "latency_us": latency, "sample": i, "t": time.perf_counter() - t0})
    return rows


def tidy_frame(rows: list[dict]):
    """Latency rows as the tidy DataFrame every measurement holds: variant, latency_us, sample, t."""
    import pandas as pd

    return pd.DataFrame(rows, columns=["variant", "latency_us", "sample", "t"])


@dataclass(frozen=True, eq=False)
class Latencies(Measured):
    """Latency samples in the tidy shape (`frame`: variant, latency_us, sample, t), variants alternated."""

    rows: tuple[dict, ...]
    chapter = "04"

    @property
    def frame(self):
        return tidy_frame(list(self.rows))

    def p50(self, variant: str) -> float:
        return float(self.frame.groupby("variant").latency_us.median()[variant])

    def table(self):
        return percentile_table(self.frame)


class Hits(Latencies):
    """Cache hits against raw GETs of the same key (and, if asked, hits through redis-py's pipeline)."""

    def checks(self) -> list[Mark]:
        hit, raw = self.p50("cache hit"), self.p50("raw GET")
        return [check("04.hit_vs_get", _("A hit is one round trip: nearer one raw GET than two (ratio < 1.5)"),
                      hit / raw < 1.5, _("hit p50 {hit} µs ÷ raw GET p50 {raw} µs = {ratio}").format(
                          hit=f"{hit:.0f}", raw=f"{raw:.0f}", ratio=thousands(f"{hit / raw:.2f}")),
                      _("GET and PTTL go in one round trip (CacheAside.read_packed, chapter 03); on a busy machine, "
                        "run the chapter again"))]  # fmt: skip


@dataclass(frozen=True, eq=False)
class Lookups(Latencies):
    """Hits and misses together (to plot on one log axis), with the database delay the first misses paid."""

    miss_variant: str = ""
    miss_delay: float = 0.0

    @classmethod
    def of(cls, hits: Latencies, misses: Misses, *more: Latencies) -> Lookups:
        rows = [r for r in hits.rows if r["variant"] == "cache hit"] + list(misses.rows)
        return cls(tuple(rows + [r for m in more for r in m.rows]), misses.variant, misses.delay)

    def checks(self) -> list[Mark]:
        hit, miss = self.p50("cache hit"), self.p50(self.miss_variant)
        return [check("04.hit_vs_miss", _("A hit skips the database: a miss costs at least its database delay more"),
                      miss - hit >= self.miss_delay * 1e6,
                      _("hit {hit} µs, miss {miss} ms, database delay {delay} ms").format(
                          hit=f"{hit:.0f}", miss=thousands(f"{miss / 1000:.1f}"),
                          delay=f"{self.miss_delay * 1000:.0f}"),
                      "lab.up()")]  # fmt: skip


@dataclass(frozen=True, eq=False)
class Misses(Latencies):
    """Misses at a database delay (plus jitter): invalidate, then look up."""

    delay: float = 0.0

    @property
    def variant(self) -> str:
        return self.rows[0]["variant"]


class Reuse(Latencies):
    """One reused client against a new client per request."""

    def checks(self) -> list[Mark]:
        new, reused = self.p50("new client per request"), self.p50("reused client")
        return [check("04.reuse", _("A new client per request is slower than a reused one"), new > reused,
                      _("{new} µs vs {reused} µs").format(new=f"{new:.0f}", reused=f"{reused:.0f}"),
                      "lab.client('master', 'app')")]  # fmt: skip


@dataclass(frozen=True, eq=False)
class Workshop(Measured):
    """The workshop's benchmark: one request that misses, one that hits (`LookupResult`s), and the delay."""

    first: LookupResult
    second: LookupResult
    db_delay: float
    chapter = "04"

    @property
    def frame(self):
        import pandas as pd

        return pd.DataFrame([{"request": n, "source": r.source, "elapsed_ms": r.elapsed_ms}
                             for n, r in ((1, self.first), (2, self.second))])  # fmt: skip

    def checks(self) -> list[Mark]:
        first, second, delay_ms = self.first, self.second, self.db_delay * 1000
        return [check("04.workshop", _("The workshop's first request pays the database, the second does not"),
                      first.source == "slow_db" and first.elapsed_ms >= delay_ms * 0.9
                      and second.source == "cache" and second.elapsed_ms < delay_ms * 0.5,
                      _("{first} ms then {second} ms").format(first=f"{first.elapsed_ms:.0f}",
                                                              second=thousands(f"{second.elapsed_ms:.2f}")),
                      "lab.up()")]  # fmt: skip


def hits(lab: Lab, samples: int = 3000, db: SlowDB | None = None, with_pipeline: bool = False) -> Hits:
    """Cache hits against raw redis-py GETs of the same key, the same user, the same server (and, with
    `with_pipeline`, hits read through redis-py's pipeline idiom instead of the hand-packed round trip)."""
    cache = CacheAside(db or SlowDB(delay=0), lab=lab)
    idiom = CacheAside(cache.db, read_path="pipeline", lab=lab)
    cache.get(KEY)
    raw = lab.client("master", "app")
    rkey = lab.keys.value(KEY)
    variants = {"cache hit": lambda: cache.get(KEY), "raw GET": lambda: raw.get(rkey)}
    if with_pipeline:
        variants["cache hit (redis-py pipeline)"] = lambda: idiom.get(KEY)
    return Hits(tuple(alternate(variants, samples, _("hits vs GET"))))


def misses(lab: Lab, samples: int = 40, delay: float = 0.02, jitter: float = 0.01, label: str | None = None) -> Misses:
    """Cache misses with a database delay (and jitter): invalidate, then look up."""
    db = SlowDB(delay=delay, jitter=jitter)
    cache = CacheAside(db, lab=lab)
    name = label or f"miss ({delay * 1000:.0f} ms db)"  # the variant: a value code reads, never translated
    desc = label or _("miss ({milliseconds} ms db)").format(milliseconds=f"{delay * 1000:.0f}")
    rows = []
    t0 = time.perf_counter()
    for i in progress(range(samples), desc=desc, unit=_("misses")):
        cache.invalidate(KEY)
        rows.append(
            {"variant": name, "latency_us": _timed(lambda: cache.get(KEY)), "sample": i, "t": time.perf_counter() - t0}
        )
    return Misses(tuple(rows), delay)


def miss_overhead(lab: Lab, samples: int = 200) -> Latencies:
    """Misses with the database delay at 0 next to hits: what the cache itself adds on a miss."""
    cache = CacheAside(SlowDB(delay=0), lab=lab)

    def miss():
        cache.invalidate(KEY)  # not timed: the next lookup is a miss
        return _timed(lambda: cache.get(KEY))

    rows = []
    t0 = time.perf_counter()
    for i in progress(range(samples), desc=_("miss overhead"), unit=_("rounds")):
        rows.append({"variant": "miss (0 ms db)", "latency_us": miss(), "sample": i, "t": time.perf_counter() - t0})
        hit = _timed(lambda: cache.get(KEY))
        rows.append({"variant": "cache hit", "latency_us": hit, "sample": i, "t": time.perf_counter() - t0})
    return Latencies(tuple(rows))


def master_vs_replica(lab: Lab, samples: int = 2000) -> Latencies:
    """The same cache hit read from the master and from the replica (an external Redis: its replica URL, or
    the same server twice when it gives none — the table says which)."""
    db = SlowDB(delay=0)
    on_master = CacheAside(db, lab=lab)
    on_replica = CacheAside(db, client=lab.client("replica", "app"), lab=lab)
    on_master.get(KEY)
    _wait_replicated(lab, lab.keys.value(KEY))
    same = lab.is_external and lab.settings.endpoint("replica") in (None, lab.settings.endpoint("master"))
    replica = "hit on the master again (the endpoint gives no replica)" if same else "hit on replica"
    variants = {"hit on master": lambda: on_master.get(KEY), replica: lambda: on_replica.get(KEY)}
    return Latencies(tuple(alternate(variants, samples, _("master vs replica"))))


def _wait_replicated(lab: Lab, rkey: str, timeout: float = 5.0) -> None:
    replica = lab.client("replica")
    deadline = time.monotonic() + timeout
    while replica.exists(rkey) == 0 and time.monotonic() < deadline:
        time.sleep(0.005)


def connection_reuse(lab: Lab, samples: int = 300) -> Reuse:
    """One reused client against a new client (connect, log in, GET, close) per request."""
    reused = lab.client("master", "app")
    new_client = lab.factory("master", "app")  # settings and passwords read once, outside the timer
    rkey = lab.keys.value(KEY)
    CacheAside(SlowDB(delay=0), lab=lab).get(KEY)

    def fresh():  # what an app without a pool does per request: construct, connect, log in, GET, close
        with new_client() as c:
            c.get(rkey)

    variants = {"reused client": lambda: reused.get(rkey), "new client per request": fresh}
    return Reuse(tuple(alternate(variants, samples, _("connection reuse"))))


def round_trips(lab: Lab, samples: int = 2000) -> Latencies:
    """GET and PTTL pipelined in one round trip against two sequential round trips."""
    raw = lab.client("master", "app")
    rkey = lab.keys.value(KEY)
    CacheAside(SlowDB(delay=0), lab=lab).get(KEY)

    def pipelined():
        pipe = raw.pipeline(transaction=False)
        pipe.get(rkey)
        pipe.pttl(rkey)
        return pipe.execute()

    def sequential():
        return raw.get(rkey), raw.pttl(rkey)

    variants = {"pipelined GET+PTTL": pipelined, "sequential GET, PTTL": sequential}
    return Latencies(tuple(alternate(variants, samples, _("round trips"))))


class ThroughTheApp(Latencies):
    """A cached request through the workshop's Flask app beside its parts: the bare cache hit (in this process)
    and an empty route of the same app over HTTP (what HTTP and Flask cost without the cache)."""

    def checks(self) -> list[Mark]:
        # (the request against the empty route differs by one hit, within the noise of a busy machine: not checked)
        hit, empty, request = (self.p50(variant) for variant in APP_VARIANTS)
        figure = _("request {request} µs = empty route {empty} µs + {rest} µs; the bare hit {hit} µs").format(
            request=number(round(request)), empty=number(round(empty)), rest=number(round(request - empty)),
            hit=number(round(hit)))  # fmt: skip
        return [check("04.http_cost", _("HTTP and Flask cost more than the cache hit they serve"),
                      hit < empty and hit < request, figure, "lab.bench.through_the_app(ctx, 100)")]  # fmt: skip


def through_the_app(lab: Lab, samples: int = 500) -> ThroughTheApp:
    """The app (`web/app.py`) served by a thread of this process on a free port; each request a new connection,
    as `curl` makes one; the key cached before the first sample."""
    import requests

    from ..cache import web

    cache = CacheAside(SlowDB(delay=0), lab=lab)
    cache.get(KEY)
    with web.Background(web.workshop_app().create_app(cache)) as site:
        api, empty = f"{site.url}/api/{KEY}", f"{site.url}/health"
        calls = (lambda: cache.get(KEY), lambda: requests.get(empty, timeout=10), lambda: requests.get(api, timeout=10))
        return ThroughTheApp(tuple(alternate(dict(zip(APP_VARIANTS, calls, strict=True)), samples, _("requests"))))


def stampede(lab: Lab, clients_: int = 50, delay: float = 0.05) -> dict[str, int]:
    """Database reads for `clients_` concurrent misses on one key, without and with protection."""
    from .cache_lessons import stampede as experiment

    reads = experiment(lab, SlowDB(delay=delay), "sku-0042", clients_).column("database_reads")
    names = ("unprotected", "single_flight", "lock")
    return {f"stampede_db_reads_{name}": n for name, n in zip(names, reads, strict=True)}


def run(config: BenchConfig | None = None) -> dict:
    """The default benchmark: every comparison, summarised as one JSON-ready dict."""
    from ..servers import pair as servers

    config = config or BenchConfig()
    config.check()
    if not servers.is_up():
        problems = [note.removeprefix("❌ ") for note in servers.status().notes if note.startswith("❌")]
        raise LabError(
            problems[0]
            if problems
            else _("The lab is not running; start it with {command}.").format(command=fix.command("up"))
        )
    start = time.perf_counter()
    lab = context()
    hit = hits(lab, config.hit_samples).frame
    overhead = miss_overhead(lab, max(50, config.miss_samples * 5)).frame
    miss = misses(lab, config.miss_samples, config.miss_delay, config.miss_jitter).frame
    replica = master_vs_replica(lab, max(1, config.hit_samples // 2)).frame
    reuse = connection_reuse(lab, config.new_client_samples).frame
    trips = round_trips(lab, max(1, config.hit_samples // 2)).frame
    app = through_the_app(lab, max(50, config.hit_samples // 20)).frame
    p50 = {}
    for frame in (hit, overhead, miss, replica, reuse, trips, app):
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
        "app_request_p50_us": round(p50[APP_VARIANTS[2]], 1),
        "empty_route_p50_us": round(p50[APP_VARIANTS[1]], 1),
        "bare_hit_p50_us": round(p50[APP_VARIANTS[0]], 1),
        "app_request_over_bare_hit": round(p50[APP_VARIANTS[2]] / p50[APP_VARIANTS[0]], 1),
        **stampede(lab, config.stampede_clients),
        "samples": {
            "hit": config.hit_samples,
            "raw_get": config.hit_samples,
            "miss": config.miss_samples,
            "miss_without_db_delay": max(50, config.miss_samples * 5),
            "new_client": config.new_client_samples,
            "through_the_app": max(50, config.hit_samples // 20),
        },
        "redis_version": status.version,
        "redis_binary": status.binary,
        "wall_s": round(time.perf_counter() - start, 2),
    }
    return summary
