"""One redis-server process of the lab and its files — the master, the replica, a sentinel, a cluster node:
starting one (its runtime configuration written 0600, a umask of 077, then waiting for PING), a group of them
that rolls back on failure, finding its pid, stopping it, and the lock that makes lifecycle operations take
turns.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import LabError
from ..core.i18n import N_, _
from ..state import binaries, ports, processes, settings
from ..state.listeners import holder
from ..state.private import UMASK, private_dir, write_private
from .clients import ROLES, port_of

START_TIMEOUT = 10.0
POLL = 0.002
# what a NodeGroup says when one of its ports is someone else's, by the group's `what` (else HELD_BY)
HELD_BY = N_("Port {port}, {what}'s, is held by {holder}; free it or set {variable}.")
HELD = {
    "a sentinel": N_("Port {port}, a sentinel's, is held by {holder}; free it or set {variable}."),
    "a cluster node": N_("Port {port}, a cluster node's, is held by {holder}; free it or set {variable}."),
}


@dataclass(frozen=True)
class Node:
    """One of the lab's two servers and its files in the state directory."""

    role: str
    port: int
    home: Path
    conf: str | None = None  # the conf/ file it starts from, when not named like its role

    @property
    def template(self) -> Path:
        return settings.CONF_DIR / f"{self.conf or self.role}.conf"

    @property
    def data_dir(self) -> Path:
        return self.home / self.role

    @property
    def runtime_conf(self) -> Path:
        return self.home / f"{self.role}.runtime.conf"

    @property
    def pid_file(self) -> Path:
        return self.home / f"{self.role}.pid"

    @property
    def log_file(self) -> Path:
        return self.home / f"{self.role}.log"


def pair_nodes(s: settings.Settings) -> dict[str, Node]:
    """The master and the replica of this lab."""
    return {role: Node(role, port_of(role, s), s.home) for role in ROLES}


@contextmanager
def locked(home: Path, required: bool = True) -> Iterator[None]:
    """One lifecycle operation at a time for this state directory (other notebooks, terminals wait). Where
    the directory cannot be written, `down` (required=False) goes on without the lock: stopping comes first."""
    try:
        f = os.fdopen(os.open(home / "lab.lock", os.O_WRONLY | os.O_CREAT, 0o600), "w")
    except OSError as exc:
        if required:
            said = _("The state directory {home} is not writable ({error}); set LAB_HOME to a folder you own.")
            raise LabError(said.format(home=home, error=exc.strerror)) from None
        yield
        return
    with f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def pid_of(node: Node) -> int | None:
    """The pid of `node`'s redis-server: from its pid file if that process is really it, else found among the
    processes (a pid file lost or stale); a stale pid file is removed."""
    try:
        pid = int(node.pid_file.read_text().strip())
    except (OSError, ValueError):
        pid = None
    if processes.is_lab_server(pid, node.runtime_conf):
        return pid
    if pid is not None:
        try:
            node.pid_file.unlink(missing_ok=True)  # stale: a crash, a kill -9, a reboot
        except OSError:
            pass
    return next((p for p, line in processes.lab_servers(node.home).items() if str(node.runtime_conf) in line), None)


def log_tail(node: Node, lines: int = 3) -> str:
    try:
        tail = node.log_file.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return " / ".join(line.split(" ", 4)[-1] for line in tail)


def launch(
    node: Node, text: str, server: binaries.Binary, connect, args: tuple[str, ...] = (), owned: bool = False
) -> subprocess.Popen | None:
    """Write `node`'s runtime configuration (0600: it holds the passwords — never the command line, which any
    user can read), start redis-server on it and wait for PING. The one way the lab starts a server: detached
    (the runtime text says `daemonize yes`: the lab's pair, sentinels, cluster nodes), or `owned` — a child of
    this process that dies with it (an exercise's scratch server, a test's), its Popen returned."""
    private_dir(node.data_dir)
    stray = pid_of(node)
    if stray is not None:  # this node still runs on other ports: one server per data folder, always
        processes.stop(stray)
    write_private(node.runtime_conf, text)
    node.pid_file.unlink(missing_ok=True)
    command = [server.path, str(node.runtime_conf), *args]
    proc = None
    try:  # umask 077: what the server writes itself (a rewritten conf, data, log) is private too
        if owned:
            proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, umask=UMASK,
                                    preexec_fn=processes.die_with_parent)  # fmt: skip
        else:
            done = subprocess.run(command, capture_output=True, text=True, timeout=30, umask=UMASK)
    except (OSError, subprocess.SubprocessError) as exc:
        said = _("{path} could not be run ({error}); check LAB_REDIS_SERVER or reinstall Redis.")
        raise LabError(said.format(path=server.path, error=exc)) from None
    if proc is None and done.returncode != 0:
        said = " ".join((done.stderr or done.stdout).split())[-300:]
        refused = _("redis-server refused to start the {role}: {said}; check {conf}.")
        raise LabError(refused.format(role=_(node.role), said=said, conf=node.template.name))
    try:
        _wait_for_ping(node, connect)
    except BaseException:
        if proc is not None:
            proc.kill()
            proc.wait(10)
        raise
    return proc


def _wait_for_ping(node: Node, connect) -> None:
    import redis

    c = connect(socket_connect_timeout=0.2, socket_timeout=1.0)
    start = time.monotonic()
    with c:
        while True:
            try:
                if c.ping():
                    return
            except (redis.ConnectionError, redis.TimeoutError):
                pass
            elapsed = time.monotonic() - start
            if elapsed > START_TIMEOUT or (elapsed > 1.0 and pid_of(node) is None):
                break  # too long, or it exited (a fatal error at start: the log says which)
            time.sleep(POLL)
    processes.stop(pid_of(node))  # started but deaf: do not leave it behind
    said = _("The {role} did not answer within {timeout} s: {tail} (log: {log}).")
    raise LabError(
        said.format(role=_(node.role), timeout=f"{START_TIMEOUT:.0f}", tail=log_tail(node), log=node.log_file)
    )


def forget_pid_file(node: Node) -> None:
    try:
        node.pid_file.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only state directory: the server is stopped all the same


def stop_by_pid(node: Node) -> bool:
    """Stop a node of the lab (a sentinel, a cluster node) from its pid file; True if one was running."""
    pid = pid_of(node)
    if pid is None:
        return False
    processes.stop(pid)
    forget_pid_file(node)
    return True


def kill_pid(pid: int | None) -> None:
    """kill -9 a server of the lab and wait until it is gone (a crash: no clean shutdown; what it wrote to its
    AOF survives)."""
    processes.kill(pid)


class PortTaken(LabError):
    """A port of a group (a sentinel's, a cluster node's) is held by a program that is not this lab's node."""


def with_fresh_ports(start, given: tuple[int, ...] | None, remembered: str, stop, attempts: int = 3):
    """Run `start` (a group's launch). A port chosen for the group can be taken in the instant between its choice
    and its node's start — by a classmate's lab choosing at the same moment: then what started is stopped, the
    ports are forgotten and free ones chosen again. Ports the environment gives are the student's: never moved."""
    for attempt in range(attempts):
        try:
            return start()
        except PortTaken:
            if given or attempt == attempts - 1:
                raise
            stop()
            ports.forget_group(remembered)


class NodeGroup:
    """Starting a group of nodes (the sentinels, the cluster): `launch` each one that is not running; if
    anything fails before the `with` block ends, the nodes this group started are stopped again."""

    def __init__(self, what: str, variable: str):
        self.what, self.variable = what, variable
        self.started: list[Node] = []

    def __enter__(self) -> NodeGroup:
        return self

    def __exit__(self, kind, error, trace) -> bool:
        if kind is not None:  # nothing half-started left running
            for node in reversed(self.started):
                stop_by_pid(node)
        return False

    def launch(self, node: Node, text: str, server: binaries.Binary, connect, args: tuple[str, ...] = ()) -> None:
        if ports.port_taken(node.port) and pid_of(node) is None:  # (our own node there is restarted by launch)
            said = _(HELD.get(self.what, HELD_BY))
            raise PortTaken(
                said.format(port=node.port, what=self.what, holder=holder(node.port), variable=self.variable)
            )
        launch(node, text, server, connect, args)
        self.started.append(node)
