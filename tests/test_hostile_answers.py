"""An answer is bounded whatever it does: it runs in a child process with a deadline and a memory cap, its
result is checked for what it is (a number is a number), and the kernel gets one ❌ sentence within the limit
and a second — with the lab intact and no process left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from lab import clients, exercises
from lab.state.keys import KeySchema

from .conftest import REPO, lab_processes, one_shared_pair

LIMIT = 2.0


def _gil_hog(r, db, key, ttl):
    return sum(range(10**12))  # one C call: the GIL is never released


def _python_loop(r, db, key, ttl):
    while True:
        pass


class _SlowFloat(float):
    def __float__(self):
        time.sleep(80)
        return 1.0


def _sleeping_float(latencies):
    return _SlowFloat(1.0), _SlowFloat(2.0)


def _lingering_writer(r, db, key, ttl):
    import threading

    def write():
        n = 0
        while True:
            n += 1
            r.set(f"cache:{key}-{n}", "still here", ex=60)
            time.sleep(0.01)

    threading.Thread(target=write, daemon=True).start()
    time.sleep(0.2)
    return db.read(key)


def _huge_return(r, db, key, ttl):
    return "x" * 100_000_000


def _huge_print(latencies):
    print("y" * 100_000_000)
    ordered = sorted(latencies)
    return ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.99)]


def _exits(r, db, key, ttl):
    os._exit(3)


def _recursion_bomb(r, db, key, ttl):
    sys.setrecursionlimit(10**7)

    def deeper(n):
        return deeper(n + 1) + 1

    return deeper(0)


def _memory_bomb(r, db, key, ttl):
    return str(len(bytearray(10**11)))


class _AlwaysEqual:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


HOSTILE = {
    "a loop holding the GIL": ("03.lookup", _gil_hog, "did not finish within 2 s"),
    "a Python loop": ("03.lookup", _python_loop, "did not finish within 2 s"),
    "a __float__ that sleeps": ("04.percentiles", _sleeping_float, "did not finish within 2 s"),
    "100 MB returned": ("03.lookup", _huge_return, "KB of data"),
    "os._exit": ("03.lookup", _exits, "ended the process (exit status 3"),
    "a recursion bomb": ("03.lookup", _recursion_bomb, ("crashed Python", "more than 512 MB", "did not finish")),
    "a memory bomb": ("03.lookup", _memory_bomb, "more than 512 MB"),
    "an object equal to anything": ("02.byte_lag", lambda m, r: _AlwaysEqual(), "not a whole number"),
    "a bool for a number": ("02.byte_lag", lambda m, r: False, "returned bool, not a whole number"),
}


@one_shared_pair
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_answer_is_one_sentence_within_the_limit(pair, case):
    exercise, answer, said = HOSTILE[case]
    admin = clients.client("master")
    theirs = KeySchema().value("someone-elses")
    admin.set(theirs, "keep me")
    start = time.monotonic()
    result = exercises.check(exercise, answer, limit=LIMIT)
    took = time.monotonic() - start
    text = "\n".join(result.lines())
    assert result.status == "fail" and any(s in text for s in ((said,) if isinstance(said, str) else said)), text
    assert took <= LIMIT + 1 + (6 if exercise == "02.byte_lag" else 1), took  # (byte_lag starts two servers)
    assert admin.get(theirs) == "keep me" and admin.ping()
    assert _children() == [], "a process of the answer is still running"


@one_shared_pair
def test_a_thread_of_the_answer_stops_writing_when_the_check_returns(pair):
    result = exercises.check("03.lookup", _lingering_writer, limit=LIMIT)
    assert result.status == "fail"  # (it never stores the value under cache:<key>: the check says so)
    admin = clients.client("master")
    pattern = KeySchema().value("ex-*")
    before = len(list(admin.scan_iter(match=pattern)))
    time.sleep(0.5)
    assert len(list(admin.scan_iter(match=pattern))) == before, "the answer's thread is still writing"


@one_shared_pair
def test_what_an_answer_prints_is_shown_capped(pair):
    result = exercises.check("04.percentiles", _huge_print, limit=10)
    assert result.status == "pass", result.lines()
    assert "output cut" in result.printed and len(result.printed) < 10_000
    assert "your code printed" in result._repr_mimebundle_()["text/html"]


def _children() -> list[int]:
    me = str(os.getpid())
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me and fields[0] != "Z" and "redis" not in open(f"/proc/{entry}/cmdline").read():
                found.append(int(entry))
    return found


@pytest.mark.slow
def test_scratch_servers_die_with_a_kernel_killed_mid_check(lab_home):
    """kill -9 of the kernel while 01.replicaof's scratch servers run: they go too (they die with their owner),
    and `down` would find any that did not (their files are in the state directory)."""
    code = (
        "import time, lab\nfrom lab import exercises\nlab.up()\nprint('ready', flush=True)\n"
        "exercises.check('01.replicaof', lambda p, s, port: time.sleep(60), limit=60)\n"
    )
    kernel = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip
    assert kernel.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 30
    while len(lab_processes(lab_home)) < 4 and time.monotonic() < deadline:  # the pair and two scratch servers
        time.sleep(0.1)
    assert len(lab_processes(lab_home)) == 4
    os.kill(kernel.pid, signal.SIGKILL)
    kernel.wait(10)
    deadline = time.monotonic() + 5
    while len(lab_processes(lab_home)) > 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(lab_processes(lab_home)) == 2, "a scratch server outlived the kernel that owned it"


def _forks(r, db, key, ttl):
    if os.fork() == 0:  # a child of the answer's own, that would outlive it
        time.sleep(300)
        os._exit(0)
    return db.read(key)


@one_shared_pair
def test_what_an_answer_forked_dies_with_it(pair):
    exercises.check("03.lookup", _forks, limit=LIMIT)
    assert _gone(_grandchildren), "a process the answer forked outlived the check"


@one_shared_pair
def test_an_interrupted_check_leaves_no_answer_running(pair):
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            exercises.check("03.lookup", _python_loop, limit=30)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert _gone(_children) and _gone(_grandchildren)


def _gone(processes, within: float = 3.0) -> bool:
    """Whether the processes `processes()` lists are gone within `within` s (a SIGKILL takes effect at once,
    the exit a moment later on a loaded machine)."""
    deadline = time.monotonic() + within
    while processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    return processes() == []


def _grandchildren() -> list[int]:
    """Orphans forked from this very process (their command line is this process's; their parent is gone):
    what an answer's fork would leave behind."""
    mine = open(f"/proc/{os.getpid()}/cmdline", "rb").read()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
                line = open(f"/proc/{entry}/cmdline", "rb").read()
            except OSError:
                continue
            if fields[0] != "Z" and fields[1] == "1" and line == mine:
                found.append(int(entry))
    return found
