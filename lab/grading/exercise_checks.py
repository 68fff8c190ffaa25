"""The checks behind `lab.exercises`: one function per exercise, each verifying real Redis behaviour.

Cache exercises run on the lab's master through a user made for the check, which may touch only
`cache:ex-<token>:*` with the `app` user's commands (deleted after, with its keys); exercises that need admin
commands (REPLICAOF, CONFIG) run on scratch servers the check starts and stops, never on the lab's own.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..core.i18n import N_, _, ngettext, thousands
from ..core.text import gap, number
from ..servers import clients
from .exercise_places import CountingDB, exercise_user, monitor, scratch_servers
from .exercise_runner import Checker, observation, observe, prediction
from .sandbox import real_pair, text, text_or_none, whole_number


class NoPrediction(Exception):
    """A "predict, then observe" exercise checked without a prediction made before the observation."""


@dataclass(frozen=True)
class Spec:
    check: Callable
    hint: str
    prediction: bool = False
    limit: float = 10.0


def _eventually(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# -- the checks ------------------------------------------------------------------------------------


def replicaof(c: Checker) -> None:
    with scratch_servers(2) as (primary, secondary):
        port = primary.connection_pool.connection_kwargs["port"]
        c.run(primary, secondary, port)
        c.part(primary.info("replication").get("role") == "master", _("the primary is still a master"))
        primary.set("written-on-the-primary", "hello")
        info = secondary.info("replication")
        c.part(info.get("role") == "slave",
               _("the second server is a replica (role: {role})").format(role=info.get("role")))  # fmt: skip
        follows = info.get("master_port")
        c.part(int(info.get("master_port", 0)) == port,
               _("it follows port {port} (follows: {follows})").format(port=port, follows=follows))  # fmt: skip
        linked = _eventually(lambda: secondary.get("written-on-the-primary") == "hello", 5)
        c.part(linked, _("a key written on the primary afterwards is read back on the replica"))


def byte_lag(c: Checker) -> None:
    with scratch_servers(2, replicated=True) as (master, replica):
        master.set("before", "x")
        _eventually(lambda: replica.get("before") == "x")
        c.part(c.run(master.info("replication"), replica.info("replication"), returns=whole_number) == 0,
               _("0 bytes behind while the replica keeps up"))  # fmt: skip
        master.config_set("requirepass", secrets.token_urlsafe(8))  # the replica can no longer log in...
        master.client_kill_filter(_type="replica")  # ...once its link is cut
        for i in range(50):
            master.set(f"while-cut:{i}", "y" * 100)
        m, r = master.info("replication"), replica.info("replication")
        truth = int(m["master_repl_offset"]) - int(r["slave_repl_offset"])
        got = c.run(m, r, returns=whole_number)
        c.part(got == truth, _("{bytes} bytes behind with the link cut (your answer: {answer})").format(
            bytes=truth, answer=repr(got)))  # fmt: skip


def wait_for_replica(c: Checker) -> None:
    """MONITOR on the master sees the order of the answer's commands: the write, then WAIT (a WAIT before the
    write returns at once and waits for nothing)."""
    with scratch_servers(2, replicated=True) as (master, replica):
        master.config_resetstat()
        seen: list[list[str]] = []
        watcher = monitor(master, seen)
        acknowledged = c.run(master, "answer", "42", returns=whole_number)
        time.sleep(0.05)
        watcher.stop()
        order = [words[0].upper() for words in seen if words and words[0].upper() in ("SET", "WAIT")]
        c.part(master.get("answer") == "42", _("the value is written on the master"))
        calls = order.count("WAIT")
        c.part("WAIT" in order, _("WAIT was called ({calls})").format(
            calls=ngettext("{count} call", "{count} calls", calls).format(count=calls)))  # fmt: skip
        c.part(order.index("WAIT") > order.index("SET") if "SET" in order and "WAIT" in order else False,
               _("WAIT came after the write (the master saw: {seen})").format(
                   seen=_(" then ").join(order) or _("neither")))  # fmt: skip
        c.part(acknowledged == 1, _("it returns how many replicas acknowledged: 1 (your answer: {answer})").format(
            answer=repr(acknowledged)))  # fmt: skip
        c.part(replica.get("answer") == "42", _("the replica has the value as soon as the function returns"))


def _reads(count: int) -> str:
    return ngettext("{count} read", "{count} reads", count).format(count=count)


def lookup(c: Checker) -> None:
    with exercise_user() as (r, prefix):
        key, ttl = f"{prefix}test-key", 30
        db = CountingDB({key: "value from the database"})
        first = c.run(r, db, key, ttl, returns=text_or_none)
        c.part(first == "value from the database",
               _("the first call returns the database's value (got {got})").format(got=repr(first)))  # fmt: skip
        c.part(db.reads == 1, _("the first call reads the database once ({reads})").format(reads=_reads(db.reads)))
        admin = clients.client("master")
        cached, left = admin.get(f"cache:{key}"), admin.ttl(f"cache:{key}")
        c.part(cached == first, _("cache:<key> then holds the value (it holds {value})").format(value=repr(cached)))
        c.part(0 < left <= ttl, _("with a TTL in (0, {ttl}] s (TTL: {left})").format(ttl=ttl, left=left))
        second = c.run(r, db, key, ttl, returns=text_or_none)
        c.part(second == first and db.reads == 1,
               _("the second call answers {answer} without the database ({reads} in all)").format(
                   answer=repr(second), reads=_reads(db.reads)))  # fmt: skip


def invalidate(c: Checker) -> None:
    with exercise_user() as (r, prefix):
        key = f"{prefix}sku-0001"
        db = CountingDB({key: "old price"})
        admin = clients.client("master")
        admin.set(f"cache:{key}", "old price", ex=60)
        c.run(r, db, key, "new price")
        c.part(db.records[key] == "new price",
               _("the database holds the new value ({value})").format(value=repr(db.records[key])))  # fmt: skip
        cached = admin.get(f"cache:{key}")
        said = _("the cache no longer answers the old value (cache:<key>: {value})").format(value=repr(cached))
        c.part(cached in (None, "new price"), said)


def _one(value: float) -> str:
    """A figure with one decimal, in the current language's notation (2.5, in French 2,5)."""
    return thousands(f"{value:.1f}")


def percentiles(c: Checker) -> None:
    import numpy as np

    from ..lessons.bench import hits
    from ..servers.context import context

    values = [r["latency_us"] for r in hits(context(), 300).rows if r["variant"] == "cache hit"]
    got = c.run(list(values), returns=real_pair)
    c.part(
        isinstance(got, tuple | list) and len(got) == 2, _("it returns (p50, p99) (got {got})").format(got=repr(got))
    )
    p50, p99 = float(got[0]), float(got[1])
    low, high = np.percentile(values, [48, 52])
    c.part(low <= p50 <= high, _("p50 {p50} µs: half the {count} hits are faster ({low}–{high})").format(
        p50=_one(p50), count=len(values), low=_one(low), high=_one(high)))  # fmt: skip
    low, high = np.percentile(values, [98, 99.6])
    c.part(low <= p99 <= high, _("p99 {p99} µs: 1 hit in 100 is slower ({low}–{high})").format(
        p99=_one(p99), low=_one(low), high=_one(high)))  # fmt: skip


def predicted(c: Checker, exercise: str, gap_kind: str, explain: Callable[[float, dict], str]) -> None:
    """A prediction counts when it was recorded before the measurement, whatever its value: the card then shows
    it beside the measured value, how far apart they are, and what explains the difference."""
    said, observed = prediction(exercise), observation(exercise)
    if said is None:
        raise NoPrediction(_("record your prediction in the cell before the measurement, then run them in order"))
    if observed is None:
        raise NoPrediction(_("run the measuring cell above first, then this check"))
    c.part(said.at < observed.at, _("the prediction was recorded before the measurement ran"))
    c.note(_("you predicted {predicted}, the lab measured {measured}: {gap}").format(
        predicted=number(said.value), measured=number(observed.value),
        gap=gap(said.value, observed.value, gap_kind)))  # fmt: skip
    c.note(explain(observed.value, observed.facts))


def _explain_speedup(measured: float, facts: dict) -> str:
    return _("A miss waits for the database (p50 {miss_ms} ms here: a {db_ms} ms delay plus jitter) and a hit "
             "only for one round trip to Redis (p50 {hit_us} µs here): the speed-up is their ratio, so it is larger "
             "on a machine with quicker round trips and smaller on a busy or distant one.").format(
        miss_ms=_one(facts["miss_ms"]), db_ms=thousands(f"{facts['db_ms']:.0f}"),
        hit_us=thousands(f"{facts['hit_us']:.0f}"))  # fmt: skip


def predict_speedup(c: Checker) -> None:
    predicted(c, "04.predict_speedup", "ratio", _explain_speedup)


def jitter(c: Checker) -> None:
    with exercise_user() as (r, prefix):
        keys, base = [f"{prefix}item-{i}" for i in range(50)], 100
        c.run(r, keys, base)
        admin = clients.client("master")
        ttls = [admin.ttl(f"cache:{k}") for k in keys]
        c.part(all(t > 0 for t in ttls), _("every key is cached with a TTL ({cached} of {keys})").format(
            cached=sum(t > 0 for t in ttls), keys=len(keys)))  # fmt: skip
        c.part(all(base - 1 <= t <= base * 1.2 for t in ttls),
               _("each TTL lies between {base} s and +20 % (from {low} to {high} s)").format(
                   base=base, low=min(ttls), high=max(ttls)))  # fmt: skip
        spread = max(ttls) - min(ttls)
        c.part(spread >= 5, _("the expiries are spread: {spread} s apart, not together").format(spread=spread))


def ttl_after(ttl: int = 5, wait: float = 2.0) -> int:
    """SET a key with EX ttl, wait, and return TTL (the measurement of 05.predict_ttl, on the lab's master);
    PTTL is read in the same round trip, to explain the answer."""
    from ..state.keys import KeySchema

    admin, key = clients.client("master"), KeySchema().value("exercise-ttl")
    admin.set(key, "x", ex=ttl)
    time.sleep(wait)
    pipe = admin.pipeline(transaction=False)
    pipe.ttl(key)
    pipe.pttl(key)
    pipe.delete(key)
    left, left_ms, _ = pipe.execute()
    observe("05.predict_ttl", left, pttl_ms=left_ms, ttl=ttl, wait=wait)
    return left


def _explain_ttl(measured: float, facts: dict) -> str:
    return _("TTL counts down in real time and answers whole seconds, rounded to the nearest: {ttl} s minus the "
             "{wait} s waited (and a few milliseconds of round trips) left {pttl_ms} ms (PTTL), which TTL shows as "
             "{shown}.").format(ttl=facts["ttl"], wait=thousands(f"{facts['wait']:g}"), pttl_ms=facts["pttl_ms"],
                                shown=number(measured))  # fmt: skip


def predict_ttl(c: Checker) -> None:
    predicted(c, "05.predict_ttl", "difference", _explain_ttl)


def min_replicas(c: Checker) -> None:
    import redis

    with scratch_servers(2) as (master, spare):
        c.run(master)
        try:
            master.set("alone", "1")
            refused = False
        except redis.ResponseError as exc:
            refused = "NOREPLICAS" in str(exc)
        c.part(refused, _("with no replica, the master refuses writes (NOREPLICAS)"))
        port = master.connection_pool.connection_kwargs["port"]
        spare.replicaof("127.0.0.1", port)
        _eventually(lambda: spare.info("replication").get("master_link_status") == "up", 5)

        def accepted() -> bool:
            try:
                return bool(master.set("with a replica", "1"))
            except redis.ResponseError:
                return False

        c.part(_eventually(accepted, 5), _("with one replica keeping up, the master takes writes again"))


def _explain_wait_loss(measured: float, facts: dict) -> str:
    lost = int(measured)
    return _("With WAIT 1 a write counts as acknowledged only once the replica has it, and that replica is the one "
             "promoted: {lost}, against {without} without it (the replica lagged {lag} s before the crash).").format(
        lost=ngettext("{count} acknowledged write lost with WAIT", "{count} acknowledged writes lost with WAIT",
                      lost).format(count=lost),
        without=facts["without_wait"], lag=thousands(f"{facts['lag_s']:g}"))  # fmt: skip


def predict_wait_loss(c: Checker) -> None:
    predicted(c, "06.predict_wait_loss", "difference", _explain_wait_loss)


def same_slot(c: Checker) -> None:
    from redis.crc import key_slot

    asked = [(u, f) for u in range(1, 21) for f in ("name", "email", "cart")]
    names = dict(zip(asked, c.run_each(asked, returns=text)))
    c.part(all(isinstance(n, str) and n for n in names.values()), _("every answer is a key name (a string)"))
    c.part(len(set(names.values())) == len(names), _("different users and fields get different keys"))
    slots = {u: {key_slot(names[u, f].encode()) for f in ("name", "email", "cart")} for u in range(1, 21)}
    together = all(len(s) == 1 for s in slots.values())
    c.part(together, _("all of one user's keys are in one hash slot"))
    spread = len({next(iter(s)) for s in slots.values()})
    c.part(
        spread >= 10, _("different users land in different slots ({spread} slots for 20 users)").format(spread=spread)
    )


def _explain_resync(measured: float, facts: dict) -> str:
    copies = int(measured)
    return _("The replica came back with its replication ID and offset (kept by SHUTDOWN SAVE), and what it missed "
             "was still in the master's backlog: PSYNC resumed from there (sync_partial_ok +{partial}), and the "
             "master made {copies}. A replica that missed more than the backlog holds must copy everything: the "
             "next experiment.").format(partial=facts["partial"], copies=ngettext(
                 "{count} full copy", "{count} full copies", copies).format(count=copies))  # fmt: skip


def predict_resync(c: Checker) -> None:
    predicted(c, "02.predict_resync", "difference", _explain_resync)


def _explain_stampede(measured: float, facts: dict) -> str:
    clients, reads = facts["clients"], int(measured)
    flight, lock = _reads(facts["single_flight"]), _reads(facts["lock"])
    if reads == clients:
        return _("Each of the {clients} lookups found the key missing before any of them had stored it, and read "
                 "the database; with single-flight {single_flight}, with the lock {lock}.").format(
            clients=clients, single_flight=flight, lock=lock)  # fmt: skip
    return _("{reads} of the {clients} lookups (the others came late enough to find it stored) found the key "
             "missing before any of them had stored it, and read the database; with single-flight {single_flight}, "
             "with the lock {lock}.").format(reads=reads, clients=clients, single_flight=flight, lock=lock)  # fmt: skip


def predict_stampede(c: Checker) -> None:
    predicted(c, "03.predict_stampede", "difference", _explain_stampede)


def _explain_slots(measured: float, facts: dict) -> str:
    slots = int(measured)
    counted = ngettext("{count} slot", "{count} slots", slots).format(count=slots)
    return _("Only the part between braces is hashed: {first} and {second} hash `user:1` and share slot {slot}, "
             "while {third} is hashed whole (slot {third_slot}): {slots}.").format(
        first=facts["keys"][0], second=facts["keys"][1], slot=facts["slots"][0], third=facts["keys"][2],
        third_slot=facts["slots"][2], slots=counted)  # fmt: skip


def predict_slots(c: Checker) -> None:
    predicted(c, "07.predict_slots", "difference", _explain_slots)


SPECS: dict[str, Spec] = {  # the hints: N_ here, translated where a mark is made (exercises.check)
    "01.replicaof": Spec(replicaof, N_("a replica is told which master to copy, by host and port (redis-py "
                                       "names the command after it)")),
    "02.byte_lag": Spec(byte_lag, N_("both sides count the bytes of the replication stream: the master what it "
                                     "sent, the replica what it processed")),
    "02.wait": Spec(wait_for_replica, N_("a write returns before the replica has it; one command blocks until "
                                         "replicas acknowledge, and says how many did")),
    "02.predict_resync": Spec(predict_resync, N_("a replica that comes back asks to resume where it stopped; "
                                                 "the master answers from its backlog if it still can"),
                              prediction=True),
    "03.predict_stampede": Spec(predict_stampede, N_("every lookup that finds the key missing reads the "
                                                     "database, until one of them has stored it"), prediction=True),
    "03.lookup": Spec(lookup, N_("Redis first; on a miss the database, then store the answer for the TTL in one "
                                 "command — and the key is cache:<key>")),
    "03.invalidate": Spec(invalidate, N_("two places hold the value: after changing one, the other must not keep "
                                         "answering the old")),
    "04.percentiles": Spec(percentiles, N_("sort the samples; p50 is the one in the middle, p99 the one 99 % of "
                                           "the way up")),
    "04.predict_speedup": Spec(predict_speedup, N_("a hit is one network round trip; a miss waits for the "
                                                   "database too"), prediction=True),
    "05.jitter": Spec(jitter, N_("each key gets the base TTL plus its own random share, never less than the "
                                 "base")),
    "05.predict_ttl": Spec(predict_ttl, N_("TTL counts down in real time, in whole seconds"), prediction=True),
    "06.min_replicas": Spec(min_replicas, N_("a master can be told how many replicas must keep up before it "
                                             "accepts a write (two settings, changed at run time)"), limit=20),
    "06.predict_wait_loss": Spec(predict_wait_loss, N_("what does a write acknowledged by the replica become "
                                                       "when that replica is promoted?"), prediction=True),
    "07.predict_slots": Spec(predict_slots, N_("only the part of a key between {braces} is hashed"),
                             prediction=True),
    "07.same_slot": Spec(same_slot, N_("only part of a key is hashed when the key holds {braces}")),
}  # fmt: skip
