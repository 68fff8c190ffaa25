"""Chapter 03's experiments: the workshop's visual test replayed, and the lessons beyond it, measured.

Each function runs a real experiment on the lab's Redis and database and returns a result that owns its checks
(`Replay`, `Invalidation`, `NegativeCaching`, `Stampede`, `Jitter`, `Outage`); the chapter only narrates and
shows them, and ends with `checkpoints.show(...)` of them.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..cache.lookup import CacheAside, LookupResult
from ..cache.slowdb import SlowDB
from ..core import fix
from ..core.errors import LabError
from ..core.marks import Mark, check
from ..servers import pair as servers
from ..servers.context import Lab
from .progress import wait
from .results import Rows


class _Rows(Rows):
    chapter = "03"


def row(step: str, result: LookupResult) -> dict:
    """One line of an experiment's table."""
    return {
        "step": step,
        "key": result.key,
        "value": result.value if result.found else "(not found)",
        "source": result.source,
        "ms": round(result.elapsed_ms, 1),
        "ttl_s": None if result.ttl is None else round(result.ttl, 1),
        "cache": result.cache_state,
    }


def wait_for_expiry(seconds: float, label: str = "waiting for the TTL") -> None:
    """Sleep with a progress bar (anything slow shows progress)."""
    wait(seconds, f"{label} ({seconds:.1f} s)")


@dataclass(frozen=True)
class Replay(_Rows):
    """The workshop's visual test, step by step (`row`s): slow, cached, expired, slow again, cached again."""

    db_delay: float = 2.0

    def checks(self) -> list[Mark]:
        first, second = self.rows[0], self.rows[1]
        db_ms = self.db_delay * 1000
        sources = self.column("source")
        return [
            check("03.first_lookup", "First lookup comes from slow_db, paying the database delay",
                  first["source"] == "slow_db" and first["ms"] >= db_ms * 0.9,
                  f"{first['ms']} ms (database delay {db_ms:.0f} ms)", "lab.cache.CacheAside.get"),
            check("03.second_lookup", "Second lookup comes from the cache, without the database delay",
                  second["source"] == "cache" and second["ms"] < db_ms / 2, f"{second['ms']} ms against {first['ms']} ms",
                  "lab.up()"),
            check("03.expiry", "After the TTL, slow_db again, then cached", sources[-2:] == ["slow_db", "cache"],
                  " → ".join(sources), "lab.cache.CacheAside(ttl=5)"),
        ]  # fmt: skip


@dataclass(frozen=True)
class Invalidation(_Rows):
    """Lookups before and after an update, invalidation on then off, beside what the database holds."""

    HEADERS = {"database_holds": "database holds", "answered": "lookup answered"}

    def checks(self) -> list[Mark]:
        after_on, after_off = self.rows[1], self.rows[3]
        return [check("03.invalidation", "Invalidation: fresh value on, stale value off",
                      not after_on["stale"] and after_on["source"] == "slow_db" and after_off["stale"],
                      f"on: answered {after_on['answered']!r} = the database; off: answered "
                      f"{after_off['answered']!r} while the database held {after_off['database_holds']!r}",
                      "lab.cache.CacheAside(invalidate_on_write=True)")]  # fmt: skip


def invalidation(lab: Lab, db: SlowDB, key: str, ttl: float) -> Invalidation:
    """Update a record with invalidation on, then off — from the same old value each time: on, the next lookup
    answers the database's new value; off, the cache keeps answering the old one (a stale read)."""
    rows = []
    original = db.read(key)
    try:
        for on in (True, False):
            db.update(key, original)
            cache = CacheAside(db, ttl=ttl, invalidate_on_write=on, lab=lab)
            label = "invalidation on" if on else "invalidation OFF"
            cache.invalidate(key)
            rows.append(_stale_row(f"{label}: first lookup", cache.get(key), db, key))
            cache.update(key, f"{original} (updated, {label})")
            rows.append(_stale_row(f"{label}: lookup after the update", cache.get(key), db, key))
    finally:
        db.update(key, original)
        CacheAside(db, lab=lab).invalidate(key)
    return Invalidation(tuple(rows))


def _stale_row(step: str, result: LookupResult, db: SlowDB, key: str) -> dict:
    """A lookup's row beside what the database holds now (read without its delay): stale when they differ."""
    holds = db.peek(key)
    answered = result.value if result.found else "(not found)"
    return {"step": step, "database_holds": holds, "answered": answered, "source": result.source,
            "stale": answered != holds}  # fmt: skip


@dataclass(frozen=True)
class NegativeCaching(_Rows):
    """A key the database does not have, looked up again and again, without then with negative caching."""

    def checks(self) -> list[Mark]:
        last = self.column("source")[-3:]
        return [check("03.negative", "Negative caching spares the database", last == ["slow_db", "cache", "cache"],
                      " → ".join(last), "lab.cache.CacheAside(cache_not_found=True)")]  # fmt: skip


def negative_caching(lab: Lab, db: SlowDB, key: str, ttl: float, lookups: int = 3) -> NegativeCaching:
    """A key that is not in the database, looked up `lookups` times, without and with negative caching."""
    rows = []
    for on in (False, True):
        cache = CacheAside(db, ttl=ttl, cache_not_found=on, lab=lab)
        cache.invalidate(key)
        label = "negative caching on" if on else "negative caching off"
        for n in range(1, lookups + 1):
            rows.append(row(f"{label}: lookup {n}", cache.get(key)))
        cache.invalidate(key)
    return NegativeCaching(tuple(rows))


PROTECTIONS = {None: "none", "single-flight": "single-flight (in process)", "lock": "SET NX lock"}


@dataclass(frozen=True)
class Stampede(_Rows):
    """Per protection: how many of the concurrent lookups reached the database."""

    HEADERS = {"lookups": "concurrent lookups", "database_reads": "database reads",
               "from_cache": "answered from the cache", "wall_s": "wall time s"}  # fmt: skip

    def checks(self) -> list[Mark]:
        reads = self.column("database_reads")
        return [check("03.stampede", "Stampede: many database reads without protection, one with it",
                      reads[0] > 1 and reads[1:] == [1, 1],
                      f"database reads {reads} for {self.rows[0]['lookups']} lookups",
                      'lab.cache.CacheAside(stampede_protection="single-flight")')]  # fmt: skip


def stampede(lab: Lab, db: SlowDB, key: str, clients: int = 50, ttl: float = 60) -> Stampede:
    """`clients` concurrent lookups of one uncached key: database reads with and without protection."""
    rows = []
    for mode in PROTECTIONS:
        cache = CacheAside(db, ttl=ttl, stampede_protection=mode, lab=lab)
        cache.invalidate(key)
        before = db.reads
        start = time.perf_counter()
        together = threading.Barrier(clients)  # every lookup starts at once, however slowly threads start

        def look(_: int, cache: CacheAside = cache, together: threading.Barrier = together) -> LookupResult:
            together.wait(timeout=30)
            return cache.get(key)

        with ThreadPoolExecutor(max_workers=clients) as pool:
            results = list(pool.map(look, range(clients)))
        rows.append({"protection": PROTECTIONS[mode], "lookups": clients, "database_reads": db.reads - before,
                     "from_cache": sum(r.source == "cache" for r in results),
                     "wall_s": round(time.perf_counter() - start, 2)})  # fmt: skip
        cache.invalidate(key)
    return Stampede(tuple(rows))


@dataclass(frozen=True)
class Jitter(_Rows):
    """Keys cached together, without then with TTL jitter: when the first and the last expire."""

    HEADERS = {"jitter": "ttl jitter", "first_s": "first expiry s", "last_s": "last expiry s",
               "spread_s": "spread s"}  # fmt: skip


def jitter(lab: Lab, db: SlowDB, keys: list[str], ttl: float, spread: float = 0.2) -> Jitter:
    """Keys cached together: without jitter they all expire in the same instant, with it they spread.

    The database delay plays no part here, so the keys are read without it."""
    db = SlowDB(db.path, delay=0)
    rows = []
    for amount in (0.0, spread):
        cache = CacheAside(db, ttl=ttl, ttl_jitter=amount, lab=lab)
        for key in keys:
            cache.invalidate(key)
        ttls = [cache.get(key).ttl for key in keys]
        if None in ttls:  # a lookup answered without Redis (it went away mid-lesson): nothing was cached
            raise LabError(f"Redis did not answer during the jitter lesson, so nothing was cached; start it with "
                           f"{fix.command('up')} and run this cell again.")  # fmt: skip
        rows.append({"jitter": f"+{amount:.0%}", "keys": len(keys), "first_s": round(min(ttls), 2),
                     "last_s": round(max(ttls), 2), "spread_s": round(max(ttls) - min(ttls), 2)})  # fmt: skip
        for key in keys:
            cache.invalidate(key)
    return Jitter(tuple(rows))


@dataclass(frozen=True)
class Outage(_Rows):
    """Lookups while the master runs, is stopped, and is back (`lab.up()`); or why this lab cannot stop it."""

    skipped: str = ""

    @property
    def frame(self):
        import pandas as pd

        return pd.DataFrame([{"skipped": self.skipped}]) if self.skipped else super().frame

    def checks(self) -> list[Mark]:
        title = "Redis down: answered, then recovered"
        if self.skipped:
            return [Mark("03.outage", "checkpoint", "skipped", title, self.skipped)]
        states = self.column("cache")
        return [check("03.outage", title, states[1:3] == ["unavailable"] * 2 and self.rows[-1]["source"] == "cache",
                      " → ".join(states), "lab.up()")]  # fmt: skip


def redis_unavailable(lab: Lab, db: SlowDB, key: str, ttl: float) -> Outage:
    """Stop the master: lookups still answer (from the database, with a warning); `up()`: the cache is back.
    On an external Redis, which the lab does not stop, the lesson says so and is skipped."""
    if lab.is_external:
        return Outage((), skipped="skipped: stopping the master needs the lab's own servers, not an external Redis")
    cache = CacheAside(db, ttl=ttl, lab=lab)
    rows = [row("Redis up", cache.get(key))]
    servers.stop("master")
    try:
        rows.append(row("master stopped", cache.get(key)))
        rows.append(row("master stopped, again", cache.get(key)))
    finally:
        servers.up()
    rows.append(row("after lab.up()", cache.get(key)))
    rows.append(row("after lab.up(), again", cache.get(key)))
    return Outage(tuple(rows))
