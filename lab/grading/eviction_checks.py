"""Chapter 08's exercises (`lab.exercises` runs them like the others): predict the hit ratio with room for a fifth
of the keys; choose an eviction policy for a workload with scans; size `maxmemory` for N keys. The two that run
code run it on small throwaway servers the check starts and stops (`lab.cache.small_cache`), never the lab's.
"""

from __future__ import annotations

from ..cache import policies
from ..cache.small_cache import TTL_MS, VALUE_BYTES, Workload, key_name, small_cache
from ..core.i18n import N_, _, thousands
from ..core.text import number
from ..lessons.eviction import scan_trace
from .exercise_checks import Spec, predicted
from .exercise_runner import Checker
from .sandbox import whole_number

SCANNED = Workload(keys=2_000, requests=20_000)  # the workload, with a scan of 1,600 keys in its middle
ROOM = 400  # keys the caches of 08.scan_policy have room for
SIZING_KEYS = 3_000  # the keys 08.sizing asks room for


def _points(value: float) -> str:
    return thousands(f"{value:.1f}")


def _explain_hit_ratio(measured: float, facts: dict) -> str:
    return _("With room for {held} keys ({share} of them), allkeys-lru served {measured} % of the lookups from the "
             "cache. Those keys get {top} % of the requests, but every key's first lookup is a miss and LRU keeps "
             "keys that are not asked for again soon: the optimum, seeing the future, reaches {optimum} %.").format(
        held=facts["held"], share=f"{facts['share']:.0%}", measured=_points(measured),
        top=_points(facts["top"] * 100), optimum=_points(facts["optimum"] * 100))  # fmt: skip


def predict_hit_ratio(c: Checker) -> None:
    predicted(c, "08.predict_hit_ratio", "difference", _explain_hit_ratio)


def _through_the_scan(cache, trace: list[int], at: int, count: int, window: int = 2_000) -> dict:
    cache.room_for(ROOM, cache.measured_per_key())
    hits = cache.run(trace)
    return {"before": policies.hit_ratio(hits[at - window : at]), "refused": cache.refused,
            "after": policies.hit_ratio(hits[at + count : at + count + window])}  # fmt: skip


def scan_policy(c: Checker) -> None:
    trace, at, count = scan_trace(SCANNED, ROOM, 4.0)
    with small_cache("allkeys-lru") as lru:
        baseline = _through_the_scan(lru, trace, at, count)
    with small_cache("allkeys-lru") as cache:
        c.run(cache.client)
        chosen = cache.client.config_get("maxmemory-policy")["maxmemory-policy"]
        theirs = _through_the_scan(cache, trace, at, count)
    c.part(not theirs["refused"], _("the cache still evicts when it is full (maxmemory-policy {policy}: {refused} "
                                    "writes refused)").format(policy=chosen, refused=theirs["refused"]))  # fmt: skip
    c.part(theirs["before"] >= baseline["before"] - 0.02,
           _("before the scan it serves as many lookups as allkeys-lru ({theirs} against {lru})").format(
               theirs=number(round(theirs["before"], 3)), lru=number(round(baseline["before"], 3))))  # fmt: skip
    lost, lru_lost = ((r["before"] - r["after"]) * 100 for r in (theirs, baseline))
    c.note(_("through the scan it lost {lost} points of hit ratio, allkeys-lru {lru_lost}").format(
        lost=_points(lost), lru_lost=_points(lru_lost)))  # fmt: skip
    c.part(theirs["after"] >= baseline["after"] + 0.1,
           _("just after the scan it serves at least 10 points more lookups than allkeys-lru ({theirs} against "
             "{lru})").format(theirs=number(round(theirs["after"], 3)), lru=number(round(baseline["after"], 3))))  # fmt: skip


def sizing(c: Checker) -> None:
    with small_cache("allkeys-lru") as cache:
        cost, usage = cache.measured_per_key(SIZING_KEYS), cache.per_key()  # measured: for the notes, the last part
        baseline = cache.empty()
        cache.client.set(key_name(SIZING_KEYS), "v" * VALUE_BYTES, px=TTL_MS)
        limit = c.run(cache.client, SIZING_KEYS, key_name(SIZING_KEYS), returns=whole_number)
        c.part(limit > 0, _("it returns a limit in bytes ({limit}; 0 would mean no limit at all)").format(limit=limit))
        cache.client.delete(key_name(SIZING_KEYS))
        cache.client.config_set("maxmemory", limit)
        cache.write(range(SIZING_KEYS))
        counted = cache.counters()
    c.note(_("{keys} keys take {cost} bytes each in used_memory here, where MEMORY USAGE says {usage}").format(
        keys=SIZING_KEYS, cost=round(cost), usage=usage))  # fmt: skip
    c.part(counted["held"] == SIZING_KEYS and not counted["evicted_keys"],
           _("with maxmemory {limit}, the {keys} keys are all held ({held}, {evicted} evicted)").format(
               limit=limit, keys=SIZING_KEYS, held=counted["held"], evicted=counted["evicted_keys"]))  # fmt: skip
    needed = baseline + SIZING_KEYS * cost
    c.part(
        limit <= baseline + 2 * SIZING_KEYS * cost + 256 * 1024,
        _("it is not far above what they need: about {needed} bytes here").format(needed=round(needed)),
    )


SPECS: dict[str, Spec] = {
    "08.predict_hit_ratio": Spec(predict_hit_ratio, N_("the most requested fifth of the keys gets most of the "
                                                       "requests; but a first request is always a miss"),
                                 prediction=True),
    "08.scan_policy": Spec(scan_policy, N_("a scan's keys are each asked for once: a policy that counts how often "
                                           "a key is used keeps them from pushing out the popular ones"), limit=20),
    "08.sizing": Spec(sizing, N_("MEMORY USAGE counts a key's name, value and entry, not its TTL's entry nor its "
                                 "slots in the hash tables: allow about half as much again, and room for buffers")),
}  # fmt: skip
