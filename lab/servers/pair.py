"""The lab's pair — a master and its replica — as one thing: `up` (start what is missing, reuse what runs, heal
after a crash or a failover, move to new ports with the data), `down` (stop every server of this state
directory), and the lessons' `stop`, `kill` and `start_node`. Processes and their files are `nodes`; what
answers on the ports is `status`; the runtime configuration is `runtime_conf`.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from ..core import fix
from ..core.errors import LabError
from ..core.i18n import _
from ..state import binaries, credentials, endpoint, processes, settings
from ..state.binaries import link_binaries
from ..state.listeners import holder
from ..state.ports import choose_ports, free_ports, port_taken
from ..state.private import repair
from . import drift
from .clients import ROLES, client, port_of
from .health import DOWN, FOREIGN, HUNG, Probe, StatusRows, held_sentence, hung_sentence, is_up, probe, status
from .nodes import POLL, Node, forget_pid_file, launch, locked, log_tail, pair_nodes, pid_of
from .runtime_conf import runtime_config

__all__ = ["up", "down", "stop", "kill", "pid", "start_node", "status", "is_up", "restore_users"]

LINK_TIMEOUT = 15.0


def _start(node: Node, s: settings.Settings, creds: credentials.Credentials, server: binaries.Binary) -> None:
    text = runtime_config(node, s, creds, server.version)
    launch(node, text, server, lambda **kw: client(node.role, s=s, **kw))


def restore_users(c, creds: credentials.Credentials) -> list[str]:
    """Apply the lab's ACL users to a running server again (a server started by an older lab, or an
    interrupted experiment that disabled one), remove any other user (an exercise's, left by a killed kernel;
    one a stranger added), and switch active expiry back on; the users removed."""
    ours = {line.split()[1] for line in credentials.acl_lines(creds)}
    strays = [name for name in c.acl_users() if name not in ours]
    pipe = c.pipeline(transaction=False)
    for line in credentials.acl_lines(creds):
        pipe.execute_command("ACL", "SETUSER", *line.split()[1:])
    if strays:
        pipe.execute_command("ACL", "DELUSER", *strays)
    pipe.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1)
    pipe.execute(raise_on_error=False)
    return strays


def _restore_lessons(s: settings.Settings, creds: credentials.Credentials) -> list[str]:
    """Undo what an interrupted experiment or a student's `CONFIG SET` left (a disabled replication user, active
    expiry off, a smaller maxmemory, another eviction policy...); a note naming what was put back."""
    restored = []
    for role in ROLES:
        with client(role, s=s) as c:
            removed, setting = _("the ACL user {name} on the {role} (removed)"), _("{name} on the {role}")
            restored += [removed.format(name=repr(name), role=_(role)) for name in restore_users(c, creds)]
            restored += [setting.format(name=name, role=_(role)) for name in drift.restore(c, role)]
    if not restored:
        return []
    return [_("Settings that differed from conf/ were put back: {restored}.").format(restored=", ".join(restored))]


def _ensure_topology(nodes_: dict[str, Node], s: settings.Settings) -> None:
    """Put roles back as the lab wants them: the master a master, the replica following it."""
    master, replica = nodes_["master"], nodes_["replica"]
    with client("master", s=s) as c:
        if c.info("replication").get("role") != "master":
            c.execute_command("REPLICAOF", "NO", "ONE")
    with client("replica", s=s) as c:
        info = c.info("replication")
        if info.get("role") != "slave" or int(info.get("master_port", 0)) != master.port:
            c.execute_command("REPLICAOF", s.host, master.port)
    _wait_for_link(replica, s)


def _copy_back_from_promoted(lab_nodes: dict[str, Node], s: settings.Settings) -> None:
    """The replica was promoted while the master was down, so it holds the newest writes: the restarted
    master first copies them from it; `_ensure_topology` then gives both their lab roles back."""
    with client("master", s=s) as c:
        c.execute_command("REPLICAOF", s.host, lab_nodes["replica"].port)
    _wait_for_link(lab_nodes["master"], s)


def _wait_for_link(replica: Node, s: settings.Settings) -> None:
    deadline = time.monotonic() + LINK_TIMEOUT
    with client(replica.role, s=s) as c:
        while True:
            info = c.info("replication")
            if info.get("master_link_status") == "up":
                return
            if time.monotonic() > deadline:
                break
            time.sleep(POLL)
    said = _("The replica did not link to the master within {timeout} s: {tail} (log: {log}); run {doctor}.")
    raise LabError(
        said.format(timeout=f"{LINK_TIMEOUT:.0f}", tail=log_tail(replica), log=replica.log_file,
                    doctor=fix.command("doctor"))
    )  # fmt: skip


def _roles_astray(found: dict[str, Probe], lab_nodes: dict[str, Node]) -> bool:
    """Whether the running servers' roles differ from the lab's (a failover, a promotion, a cut link)."""
    master, replica = found["master"], found["replica"]
    if master.up and master.info.get("role") != "master":
        return True
    if replica.up:
        follows = int(replica.info.get("master_port") or 0)
        return replica.info.get("role") != "slave" or follows != lab_nodes["master"].port
    return False


def _stop_sentinels(home: Path) -> list[str]:
    """Stop this lab's sentinels (before `up` gives the servers their roles back, so that the sentinels do not
    undo it a moment later); a note for the student if any ran."""
    pids = [pid for pid, line in processes.lab_servers(home).items() if f"{os.sep}sentinel-" in line]
    for pid in pids:
        processes.stop(pid)
    if not pids:
        return []
    said = _("The {count} sentinels were stopped, so that they do not undo the lab's roles after a failover; "
             "{sentinel} starts them again, watching the lab's master.")  # fmt: skip
    return [said.format(count=len(pids), sentinel=fix.command("up --sentinel"))]


class _Raced(Exception):
    """A port that was free when the lab looked was taken before its server could bind it."""

    def __init__(self, node: Node):
        self.node = node


def _bring_up(s: settings.Settings, creds, server: binaries.Binary, notes: list[str], started: list[Node]) -> None:
    """Start what is missing of the pair, heal what runs: the body of `up`, on the settings' ports."""
    lab_nodes = pair_nodes(s)
    found = {role: probe(node, s) for role, node in lab_nodes.items()}
    strangers = [node for role, node in lab_nodes.items() if found[role].state == FOREIGN]
    if strangers and not s.ports_from_environment:  # a shared host: the lab's ports are someone else's
        raise _Raced(strangers[0])
    for role, node in lab_nodes.items():
        if found[role].state == HUNG:
            raise LabError(hung_sentence(node))
        if found[role].state == FOREIGN:
            raise LabError(held_sentence(node, s))
    moving = [n for r, n in lab_nodes.items() if found[r].state == DOWN and pid_of(n) is not None]
    if _roles_astray(found, lab_nodes) or moving:
        notes += _stop_sentinels(s.home)
    if moving:
        moved = _("The lab moved to ports {master},{replica}; its data came along.")
        notes.append(moved.format(master=s.master_port, replica=s.replica_port))
    promoted = found["master"].state == DOWN and found["replica"].info.get("role") == "master"
    for role, node in lab_nodes.items():
        if found[role].state == DOWN:
            started.append(node)  # before it starts: an interrupt during the start stops it too
            try:
                _start(node, s, creds, server)  # (a copy still running on the old ports is stopped first)
            except LabError:
                if s.ports_from_environment or not port_taken(node.port) or pid_of(node) is not None:
                    raise
                raise _Raced(node) from None
    notes += _restore_lessons(s, creds)
    if promoted:
        _copy_back_from_promoted(lab_nodes, s)
    _ensure_topology(lab_nodes, s)


def _move_away(s: settings.Settings, strangers: list[Node]) -> list[str]:
    """The lab's ports are held by someone else (a classmate's lab on the default ones, a program that took a
    remembered port while the lab was down): choose free ones, remember them, and make new passwords — the
    lab's servers still running (sentinels, cluster nodes, one of the pair) are stopped first, so that none
    keeps the old ones. The note that says so."""
    first = strangers[0]
    who = holder(first.port)
    master, replica = free_ports(2, avoid=(s.master_port, s.replica_port))
    for pid in processes.lab_servers(s.home):  # every server of this state directory: they know the old passwords
        processes.stop(pid)
    credentials.rotate(s.home)
    settings.remember_ports(s.home, master, replica)
    said = _("Port {port} (the {role}'s) is held by {holder}, so the lab moved to free ports {master} and {replica} "
             "(remembered: every later command uses them; `./workbook env` and `status` show them), with new "
             "passwords; its data came along. Sentinels and cluster nodes, if any ran, start again with {sentinel} "
             "and {cluster}.")  # fmt: skip
    return [said.format(port=first.port, role=_(first.role), holder=who, master=master, replica=replica,
                        sentinel=fix.command("up --sentinel"), cluster=fix.command("cluster up"))]  # fmt: skip


def _running_here(s: settings.Settings) -> bool:
    """Both of the pair's servers answer on the settings' ports, as this lab's."""
    return all(probe(node, s).up for node in pair_nodes(s).values())


def up(ports: str | None = None) -> StatusRows:
    """Start the master, then the replica, and wait until the replica is linked. Reuses what already runs;
    gives both their roles back after a failover; moves the pair (data kept) when its ports changed."""
    if ports:
        choose_ports(ports, already_running=_running_here)
    s = settings.load()
    s.ensure_home()
    if endpoint.is_external(s):
        rows = status()
        if rows[0].state != "up":
            said = _("The external Redis {url} does not answer; check {variable}.")
            raise LabError(said.format(url=endpoint.redact(endpoint.url()), variable=endpoint.VARIABLE))
        return rows  # the lab starts nothing: somebody else runs this Redis
    server = binaries.server(s.redis_server)
    notes: list[str] = []
    with locked(s.home):
        if repair(s.home):
            notes.append(_("Some files in {home} were readable by other users; they are private again (0600/0700).")
                         .format(home=s.home))  # fmt: skip
        creds = credentials.load_or_create(s.home)
        link_binaries(s, server)
        for attempt in range(3):
            started: list[Node] = []
            try:
                _bring_up(s, creds, server, notes, started)
                break
            except _Raced as raced:  # a classmate's lab took the port between our look and our start
                for node in reversed(started):
                    _stop(node, s)
                if attempt == 2:
                    raise LabError(held_sentence(raced.node, s)) from None
                notes += _move_away(s, [raced.node])
                s = settings.load()
                creds = credentials.load(s.home)
            except BaseException:
                for node in reversed(started):  # nothing half-started left running
                    _stop(node, s)
                raise
    rows = status()
    rows.notes[:0] = notes
    return rows


def _running_pid(node: Node, s: settings.Settings) -> int | None:
    """The pid of `node`'s server: from the server itself if it answers, else from its pid file."""
    found = probe(node, s)
    return int(found.info["process_id"]) if "process_id" in found.info else pid_of(node)


def _stop(node: Node, s: settings.Settings, save: bool = False) -> bool:
    """Stop one server of the lab; True if one was running. `save`: SHUTDOWN SAVE (a snapshot that keeps the
    replication ID and offset, so that a restarted replica can resume with a partial resync)."""
    import redis

    pid = _running_pid(node, s)
    if pid is None:
        return False
    if save:
        try:
            with client(node.role, s=s) as c:
                c.execute_command("SHUTDOWN", "SAVE")
        except redis.ConnectionError:
            pass  # the server closed the connection as it exited
    processes.stop(pid)
    forget_pid_file(node)
    return True


def start_node(role: str) -> Node:
    """Start one of the pair's servers as it is configured, without touching the other (the failover
    lessons rejoin a killed node themselves); a no-op if it already runs."""
    s = settings.load()
    port_of(role, s)
    node = pair_nodes(s)[role]
    with locked(s.ensure_home()):
        if probe(node, s).state == DOWN:
            _start(node, s, credentials.load_or_create(s.home), binaries.server(s.redis_server))
    return node


def stop(role: str, save: bool = False) -> bool:
    """Stop one of the lab's servers (a lesson: what happens when Redis goes away); `up()` brings it back."""
    s = settings.load()
    port_of(role, s)  # an unknown role is one sentence
    with locked(s.ensure_home()):
        return _stop(pair_nodes(s)[role], s, save)


def pid(role: str) -> int | None:
    """The pid of one of the lab's servers, or None if it is not running."""
    s = settings.load()
    port_of(role, s)
    return _running_pid(pair_nodes(s)[role], s)


def kill(role: str) -> int | None:
    """kill -9 one of the lab's servers (a crash: no clean shutdown; what it wrote to its AOF survives); the pid
    it had, or None."""
    s = settings.load()
    port_of(role, s)
    pid = _running_pid(pair_nodes(s)[role], s)
    if pid is not None:
        processes.kill(pid)
    return pid


class Stopped(list):
    """What `down` stopped (names), and `problems`: what it could not clean up afterwards."""

    problems: list[str]

    def __init__(self, names=(), problems: list[str] | None = None):
        super().__init__(names)
        self.problems = list(problems or [])


def _stop_order(line: str) -> tuple[int, str]:
    name = _runtime_name(line)
    # sentinels first (they must not see the master go and start a failover), cluster nodes, replica, master
    rank = 0 if name.startswith("sentinel") else 1 if name.startswith("cluster") else 2 if name == "replica" else 3
    return rank, name


def _runtime_name(line: str) -> str:
    found = re.search(r"([^/\s]+)\.runtime\.conf", line)
    return found.group(1) if found else "?"


def down() -> Stopped:
    """Stop every server of this state directory — found among the processes, not only by pid files — and
    nothing else; the names of those stopped. Works on a read-only state directory too."""
    home = settings.home_dir()
    if not home.exists():
        return Stopped()
    with locked(home, required=False):
        running = processes.lab_servers(home)
        stopped, problems = Stopped(), []
        for pid, line in sorted(running.items(), key=lambda item: _stop_order(item[1])):
            processes.stop(pid)
            stopped.append(_runtime_name(line))
        for pid_file in home.glob("*.pid"):
            try:
                pid_file.unlink()
            except OSError as exc:
                problems.append(f"{pid_file} ({exc.strerror})")
    if problems:
        said = _("Every server is stopped, but these files could not be removed: {files}.")
        stopped.problems.append(said.format(files=", ".join(problems)))
    return stopped
