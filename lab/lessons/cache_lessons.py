"""Chapter 03's experiments: the workshop's visual test replayed, and the lessons beyond it, measured.

Each function runs a real experiment on the lab's Redis and database and returns a result that owns its checks
(`Replay`, `WebCalls`, `Invalidation`, `NegativeCaching`, `Stampede`, `Jitter`, `Outage`); the chapter only narrates and
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
from ..core.i18n import N_, _, thousands
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
        "value": result.value if result.found else _("(not found)"),
        "source": result.source,
        "ms": round(result.elapsed_ms, 1),
        "ttl_s": None if result.ttl is None else round(result.ttl, 1),
        "cache": result.cache_state,
    }


def wait_for_expiry(seconds: float, label: str = N_("waiting for the TTL")) -> None:
    """Sleep with a progress bar (anything slow shows progress)."""
    wait(seconds, _("{label} ({seconds} s)").format(label=_(label), seconds=thousands(f"{seconds:.1f}")))


@dataclass(frozen=True)
class Replay(_Rows):
    """The workshop's visual test, step by step (`row`s): slow, cached, expired, slow again, cached again."""

    db_delay: float = 2.0

    def checks(self) -> list[Mark]:
        first, second = self.rows[0], self.rows[1]
        db_ms = self.db_delay * 1000
        sources = self.column("source")
        return [
            check("03.first_lookup", _("First lookup comes from slow_db, paying the database delay"),
                  first["source"] == "slow_db" and first["ms"] >= db_ms * 0.9,
                  _("{ms} ms (database delay {delay} ms)").format(ms=thousands(str(first["ms"])), delay=f"{db_ms:.0f}"),
                  "lab.cache.CacheAside.get"),
            check("03.second_lookup", _("Second lookup comes from the cache, without the database delay"),
                  second["source"] == "cache" and second["ms"] < db_ms / 2,
                  _("{second} ms against {first} ms").format(second=thousands(str(second["ms"])),
                                                             first=thousands(str(first["ms"]))),
                  "lab.up()"),
            check("03.expiry", _("After the TTL, slow_db again, then cached"), sources[-2:] == ["slow_db", "cache"],
                  " → ".join(sources), "lab.cache.CacheAside(ttl=5)"),
        ]  # fmt: skip


class WebCalls(_Rows):
    """What the workshop's Flask app answered, as `curl` would print it: two `GET /api/<key>` (a miss, then a hit)
    and a `DELETE` (the JSON objects, in order)."""

    HEADERS = {"elapsed_ms": N_("ms in the lookup"), "cache_state": N_("cache")}

    @property
    def frame(self):
        import pandas as pd

        return pd.DataFrame([{k: r.get(k) for k in ("key", "source", "cache_state", "elapsed_ms", "ttl", "invalidated")}
                             for r in self.rows])  # fmt: skip

    def checks(self) -> list[Mark]:
        first, second, deleted = self.rows[0], self.rows[1], self.rows[-1]
        figure = " → ".join(
            [first.get("source", "?"), second.get("source", "?"), f"DELETE {deleted.get('invalidated')}"]
        )
        ok = (first.get("source"), second.get("source"), deleted.get("invalidated")) == ("slow_db", "cache", True)
        return [check("03.web", _("Through the app's route: slow_db, then cache; DELETE invalidates"), ok, figure,
                      "lab.cache.web.workshop_app().create_app()")]  # fmt: skip


@dataclass(frozen=True)
class Invalidation(_Rows):
    """Lookups before and after an update, invalidation on then off, beside what the database holds."""

    HEADERS = {"database_holds": N_("database holds"), "answered": N_("lookup answered")}

    def checks(self) -> list[Mark]:
        after_on, after_off = self.rows[1], self.rows[3]
        return [check("03.invalidation", _("Invalidation: fresh value on, stale value off"),
                      not after_on["stale"] and after_on["source"] == "slow_db" and after_off["stale"],
                      _("on: answered {on} = the database; off: answered {off} while the database held {held}").format(
                          on=repr(after_on["answered"]), off=repr(after_off["answered"]),
                          held=repr(after_off["database_holds"])),
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
            label = _("invalidation on") if on else _("invalidation OFF")
            cache.invalidate(key)
            rows.append(_stale_row(_("{label}: first lookup").format(label=label), cache.get(key), db, key))
            cache.update(key, _("{value} (updated, {label})").format(value=original, label=label))
            rows.append(_stale_row(_("{label}: lookup after the update").format(label=label), cache.get(key), db, key))
    finally:
        db.update(key, original)
        CacheAside(db, lab=lab).invalidate(key)
    return Invalidation(tuple(rows))


def _stale_row(step: str, result: LookupResult, db: SlowDB, key: str) -> dict:
    """A lookup's row beside what the database holds now (read without its delay): stale when they differ."""
    holds = db.peek(key)
    answered = result.value if result.found else _("(not found)")
    return {"step": step, "database_holds": holds, "answered": answered, "source": result.source,
            "stale": answered != holds}  # fmt: skip


@dataclass(frozen=True)
class NegativeCaching(_Rows):
    """A key the database does not have, looked up again and again, without then with negative caching."""

    def checks(self) -> list[Mark]:
        last = self.column("source")[-3:]
        return [check("03.negative", _("Negative caching spares the database"), last == ["slow_db", "cache", "cache"],
                      " → ".join(last), "lab.cache.CacheAside(cache_not_found=True)")]  # fmt: skip


def negative_caching(lab: Lab, db: SlowDB, key: str, ttl: float, lookups: int = 3) -> NegativeCaching:
    """A key that is not in the database, looked up `lookups` times, without and with negative caching."""
    rows = []
    for on in (False, True):
        cache = CacheAside(db, ttl=ttl, cache_not_found=on, lab=lab)
        cache.invalidate(key)
        label = _("negative caching on") if on else _("negative caching off")
        for n in range(1, lookups + 1):
            rows.append(row(_("{label}: lookup {number}").format(label=label, number=n), cache.get(key)))
        cache.invalidate(key)
    return NegativeCaching(tuple(rows))


PROTECTIONS = {None: N_("none"), "single-flight": N_("single-flight (in process)"), "lock": N_("SET NX lock")}


@dataclass(frozen=True)
class Stampede(_Rows):
    """Per protection: how many of the concurrent lookups reached the database."""

    HEADERS = {"lookups": N_("concurrent lookups"), "database_reads": N_("database reads"),
               "from_cache": N_("answered from the cache"), "wall_s": N_("wall time s")}  # fmt: skip

    def checks(self) -> list[Mark]:
        reads = self.column("database_reads")
        return [check("03.stampede", _("Stampede: many database reads without protection, one with it"),
                      reads[0] > 1 and reads[1:] == [1, 1],
                      _("database reads {reads} for {lookups} lookups").format(reads=reads,
                                                                               lookups=self.rows[0]["lookups"]),
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

        def look(_index: int, cache: CacheAside = cache, together: threading.Barrier = together) -> LookupResult:
            together.wait(timeout=30)
            return cache.get(key)

        with ThreadPoolExecutor(max_workers=clients) as pool:
            results = list(pool.map(look, range(clients)))
        rows.append({"protection": _(PROTECTIONS[mode]), "lookups": clients, "database_reads": db.reads - before,
                     "from_cache": sum(r.source == "cache" for r in results),
                     "wall_s": round(time.perf_counter() - start, 2)})  # fmt: skip
        cache.invalidate(key)
    return Stampede(tuple(rows))


@dataclass(frozen=True)
class Jitter(_Rows):
    """Keys cached together, without then with TTL jitter: when the first and the last expire."""

    HEADERS = {"jitter": N_("ttl jitter"), "first_s": N_("first expiry s"), "last_s": N_("last expiry s"),
               "spread_s": N_("spread s")}  # fmt: skip


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
            raise LabError(_("Redis did not answer during the jitter lesson, so nothing was cached; start it with "
                             "{command} and run this cell again.").format(command=fix.command("up")))  # fmt: skip
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
        title = _("Redis down: answered, then recovered")
        if self.skipped:
            return [Mark("03.outage", "checkpoint", "skipped", title, self.skipped)]
        states = self.column("cache")
        return [check("03.outage", title, states[1:3] == ["unavailable"] * 2 and self.rows[-1]["source"] == "cache",
                      " → ".join(states), "lab.up()")]  # fmt: skip


def redis_unavailable(lab: Lab, db: SlowDB, key: str, ttl: float) -> Outage:
    """Stop the master: lookups still answer (from the database, with a warning); `up()`: the cache is back.
    On an external Redis, which the lab does not stop, the lesson says so and is skipped."""
    if lab.is_external:
        return Outage((), skipped=_("skipped: stopping the master needs the lab's own servers, not an external Redis"))
    cache = CacheAside(db, ttl=ttl, lab=lab)
    rows = [row(_("Redis up"), cache.get(key))]
    servers.stop("master")
    try:
        rows.append(row(_("master stopped"), cache.get(key)))
        rows.append(row(_("master stopped, again"), cache.get(key)))
    finally:
        servers.up()
    rows.append(row(_("after lab.up()"), cache.get(key)))
    rows.append(row(_("after lab.up(), again"), cache.get(key)))
    return Outage(tuple(rows))
