"""Chapter 03's experiments: the workshop's visual test replayed, and the lessons beyond it, measured.

Each function runs a real experiment on the lab's Redis and database and returns plain rows (a list of
dicts, or a DataFrame), so the chapter only narrates and shows them.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ..cache.lookup import CacheAside, LookupResult
from ..cache.slowdb import SlowDB
from ..core import fix
from ..core.errors import LabError
from ..servers import pair as servers
from .progress import wait


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


def invalidation(db: SlowDB, key: str, ttl: float) -> list[dict]:
    """Update a record with invalidation on, then off — from the same old value each time: on, the next lookup
    answers the database's new value; off, the cache keeps answering the old one (a stale read)."""
    rows = []
    original = db.read(key)
    try:
        for on in (True, False):
            db.update(key, original)
            cache = CacheAside(db, ttl=ttl, invalidate_on_write=on)
            label = "invalidation on" if on else "invalidation OFF"
            cache.invalidate(key)
            rows.append(_stale_row(f"{label}: first lookup", cache.get(key), db, key))
            cache.update(key, f"{original} (updated, {label})")
            rows.append(_stale_row(f"{label}: lookup after the update", cache.get(key), db, key))
    finally:
        db.update(key, original)
        CacheAside(db).invalidate(key)
    return rows


def _stale_row(step: str, result: LookupResult, db: SlowDB, key: str) -> dict:
    """A lookup's row beside what the database holds now (read without its delay): stale when they differ."""
    holds = db.peek(key)
    answered = result.value if result.found else "(not found)"
    return {"step": step, "database holds": holds, "lookup answered": answered, "source": result.source,
            "stale": "yes" if answered != holds else "no"}  # fmt: skip


def negative_caching(db: SlowDB, key: str, ttl: float, lookups: int = 3) -> list[dict]:
    """A key that is not in the database, looked up `lookups` times, without and with negative caching."""
    rows = []
    for on in (False, True):
        cache = CacheAside(db, ttl=ttl, cache_not_found=on)
        cache.invalidate(key)
        label = "negative caching on" if on else "negative caching off"
        for n in range(1, lookups + 1):
            rows.append(row(f"{label}: lookup {n}", cache.get(key)))
        cache.invalidate(key)
    return rows


def stampede(db: SlowDB, key: str, clients: int = 50, ttl: float = 60) -> list[dict]:
    """`clients` concurrent lookups of one uncached key: database reads with and without protection."""
    rows = []
    for mode in (None, "single-flight", "lock"):
        cache = CacheAside(db, ttl=ttl, stampede_protection=mode)
        cache.invalidate(key)
        before = db.reads
        start = time.perf_counter()
        together = threading.Barrier(clients)  # every lookup starts at once, however slowly threads start

        def look(_: int, cache: CacheAside = cache, together: threading.Barrier = together) -> LookupResult:
            together.wait(timeout=30)
            return cache.get(key)

        with ThreadPoolExecutor(max_workers=clients) as pool:
            results = list(pool.map(look, range(clients)))
        rows.append(
            {
                "protection": {None: "none", "single-flight": "single-flight (in process)", "lock": "SET NX lock"}[
                    mode
                ],
                "concurrent lookups": clients,
                "database reads": db.reads - before,
                "answered from the cache": sum(r.source == "cache" for r in results),
                "wall time s": round(time.perf_counter() - start, 2),
            }
        )
        cache.invalidate(key)
    return rows


def jitter(db: SlowDB, keys: list[str], ttl: float, spread: float = 0.2) -> list[dict]:
    """Keys cached together: without jitter they all expire in the same instant, with it they spread.

    The database delay plays no part here, so the keys are read without it."""
    db = SlowDB(db.path, delay=0)
    rows = []
    for amount in (0.0, spread):
        cache = CacheAside(db, ttl=ttl, ttl_jitter=amount)
        for key in keys:
            cache.invalidate(key)
        ttls = [cache.get(key).ttl for key in keys]
        if None in ttls:  # a lookup answered without Redis (it went away mid-lesson): nothing was cached
            raise LabError(f"Redis did not answer during the jitter lesson, so nothing was cached; start it with "
                           f"{fix.command('up')} and run this cell again.")  # fmt: skip
        rows.append(
            {
                "ttl jitter": f"+{amount:.0%}",
                "keys": len(keys),
                "first expiry s": round(min(ttls), 2),
                "last expiry s": round(max(ttls), 2),
                "spread s": round(max(ttls) - min(ttls), 2),
            }
        )
        for key in keys:
            cache.invalidate(key)
    return rows


def redis_unavailable(db: SlowDB, key: str, ttl: float) -> list[dict]:
    """Stop the master: lookups still answer (from the database, with a warning); `up()`: the cache is back."""
    cache = CacheAside(db, ttl=ttl)
    rows = [row("Redis up", cache.get(key))]
    servers.stop("master")
    try:
        rows.append(row("master stopped", cache.get(key)))
        rows.append(row("master stopped, again", cache.get(key)))
    finally:
        servers.up()
    rows.append(row("after lab.up()", cache.get(key)))
    rows.append(row("after lab.up(), again", cache.get(key)))
    return rows
