"""Starting, stopping and health-checking the lab's master and replica `redis-server` processes.

Each server is started from its file in `conf/` plus a runtime configuration written into the state
directory (mode 0600: it holds the passwords), which sets the port, the data directory, the log and
pid files, and the ACL users. Servers detach (`daemonize yes`) and outlive the process that started
them; `down()` ends them. A file lock makes concurrent `up()` calls take turns, so there is never a
duplicate server.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from . import binaries, credentials, endpoint, ports, processes, settings
from .clients import ROLES, client, port_of
from .errors import LabError
from .private import UMASK, private_dir, repair, write_private

START_TIMEOUT = 10.0
LINK_TIMEOUT = 15.0
POLL = 0.002
BIN_DIR = "bin"
BIN_MARKER = binaries.LAB_BIN_MARKER


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


@dataclass
class ServerStatus:
    """What `status` reports for one server."""

    role: str
    port: int
    state: str  # "up", "down", "hung" (it holds its port but does not answer) or "foreign" (another program)
    pid: int | None = None
    version: str | None = None
    binary: str | None = None
    actual_role: str | None = None
    link_status: str | None = None
    master_repl_offset: int | None = None
    slave_repl_offset: int | None = None
    connected_replicas: int | None = None
    master_port: int | None = None  # the port a replica follows
    log: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


class StatusRows(list):
    """`status()`/`up()` rows: a list, shown as one line per server (a table in a notebook), then any note
    (what `up` had to do, a topology problem)."""

    notes: list[str]

    def __init__(self, rows=(), notes: list[str] | None = None):
        super().__init__(rows)
        self.notes = list(notes or [])

    def __repr__(self) -> str:
        return "\n".join(
            [
                f"{r.role}: {r.state} on port {r.port}"
                + (f", Redis {r.version}, pid {r.pid}" if r.state == "up" else "")
                + (f", link {r.link_status}" if r.link_status else "")
                for r in self
            ]
            + self.notes
        )

    def _repr_html_(self) -> str:
        head = "<tr><th>server</th><th>state</th><th>port</th><th>pid</th><th>Redis</th><th>role</th><th>link</th></tr>"
        body = "".join(
            f"<tr><td>{r.role}</td><td>{r.state}</td><td>{r.port}</td><td>{r.pid or ''}</td><td>{r.version or ''}</td>"
            f"<td>{r.actual_role or ''}</td><td>{r.link_status or ''}</td></tr>"
            for r in self
        )
        notes = "".join(f"<p>{note}</p>" for note in self.notes)
        return f"<table>{head}{body}</table>{notes}"


def nodes(s: settings.Settings) -> dict[str, Node]:
    """The master and the replica of this lab."""
    return {role: Node(role, port_of(role, s), s.home) for role in ROLES}


def quote_path(path: Path) -> str:
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def runtime_config(node: Node, s: settings.Settings, creds: credentials.Credentials, version: tuple) -> str:
    """The runtime configuration of `node`: its conf file, then what only this machine knows."""
    lines = [
        "# Written by lab/servers.py at each start; holds passwords (mode 0600). Do not edit: edit conf/.",
        f"include {quote_path(node.template)}",
        f"port {node.port}",
        f"dir {quote_path(node.data_dir)}",
        f"pidfile {quote_path(node.pid_file)}",
        f"logfile {quote_path(node.log_file)}",
        "daemonize yes",
        # the process title names this file, so `ps` (and the lab) can tell this lab's servers from others
        'proc-title-template "{title} {listen-addr} {server-mode} {config-file}"',
        *credentials.acl_lines(creds),
    ]
    if version >= (7, 0):
        lines.append("enable-debug-command local")  # the replication chapter's DEBUG SLEEP (6.2 allows it anyway)
    # how to log in to a master: the replica always, the master too if it must copy back from a promoted replica
    lines += [f"masteruser {credentials.REPLICATION_USER}", f"masterauth {creds.replication}"]
    if node.role == "replica":
        lines.append(f"replicaof {s.host} {s.master_port}")
    return "\n".join(lines) + "\n"


@contextmanager
def _locked(home: Path, required: bool = True) -> Iterator[None]:
    """One lifecycle operation at a time for this state directory (other notebooks, terminals wait). Where
    the directory cannot be written, `down` (required=False) goes on without the lock: stopping comes first."""
    try:
        f = os.fdopen(os.open(home / "lab.lock", os.O_WRONLY | os.O_CREAT, 0o600), "w")
    except OSError as exc:
        if required:
            raise LabError(
                f"The state directory {home} is not writable ({exc.strerror}); set LAB_HOME to a folder you own."
            ) from None
        yield
        return
    with f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


FOREIGN = "foreign"
HUNG = "hung"
PROBE_TIMEOUT = 2.0  # seconds a server may take to answer INFO before it is called hung


def probe(node: Node, s: settings.Settings) -> dict | str | None:
    """INFO of the lab's server on `node.port`; None if nothing listens; FOREIGN if another program does;
    HUNG if it accepts connections but does not answer (stopped with SIGSTOP, or busy running a script)."""
    import redis

    try:
        c = client(node.role, s=s, socket_connect_timeout=0.5, socket_timeout=PROBE_TIMEOUT)
        with c:
            pipe = c.pipeline(transaction=False)
            pipe.info("server")
            pipe.info("replication")
            server, replication = pipe.execute()
    except LabError:
        return None if not ports.port_taken(node.port) else FOREIGN
    except redis.BusyLoadingError:
        return {"loading": True}
    except redis.TimeoutError:  # the kernel accepted the connection, nobody answered: ours, stopped or busy?
        return HUNG if pid_of(node) is not None else FOREIGN
    except redis.ResponseError as exc:
        return HUNG if str(exc).startswith("BUSY") and pid_of(node) is not None else FOREIGN
    except redis.AuthenticationError:
        return FOREIGN
    except redis.ConnectionError:
        return FOREIGN if ports.port_taken(node.port) else None
    if Path(str(server.get("config_file", ""))).resolve() != node.runtime_conf.resolve():
        return FOREIGN  # the same password would be a coincidence, but another state directory is not ours
    return {**server, **replication}


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


def _log_tail(node: Node, lines: int = 3) -> str:
    try:
        tail = node.log_file.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return " / ".join(line.split(" ", 4)[-1] for line in tail)


def hung_sentence(node: Node) -> str:
    """What a student reads when a server holds its port but does not answer."""
    pid = pid_of(node)
    resume = f"if you stopped it (Ctrl-Z, kill -STOP), `kill -CONT {pid}`; otherwise " if pid else ""
    return (
        f"The {node.role} on port {node.port} does not answer (hung or busy: stopped, or running a long script); "
        f"{resume}restart it: `python -m lab down`, then `python -m lab up`."
    )


def _held_sentence(node: Node, s: settings.Settings) -> str:
    variable = "LAB_MASTER_PORT" if node.role == "master" else "LAB_REPLICA_PORT"
    return (
        f"Port {node.port}, the {node.role}'s, is held by another program; stop it "
        f"(`ss -ltnp | grep {node.port}` shows which), or pick free ports with `python -m lab up --ports auto` "
        f"(or set {variable})."
    )


def _start(node: Node, s: settings.Settings, creds: credentials.Credentials, server: binaries.Binary) -> None:
    text = runtime_config(node, s, creds, server.version)
    launch(node, text, server, lambda **kw: client(node.role, s=s, **kw))


def launch(node: Node, text: str, server: binaries.Binary, connect, args: tuple[str, ...] = ()) -> None:
    """Write `node`'s runtime configuration, start redis-server on it (detached) and wait for PING."""
    private_dir(node.data_dir)
    stray = pid_of(node)
    if stray is not None:  # this node still runs on other ports: one server per data folder, always
        processes.stop(stray)
    write_private(node.runtime_conf, text)
    node.pid_file.unlink(missing_ok=True)
    try:  # umask 077: what the server writes itself (a rewritten conf, data, log) is private too
        done = subprocess.run([server.path, str(node.runtime_conf), *args], capture_output=True, text=True,
                              timeout=30, umask=UMASK)  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        raise LabError(f"{server.path} could not be run ({exc}); check LAB_REDIS_SERVER or reinstall Redis.") from None
    if done.returncode != 0:
        said = " ".join((done.stderr or done.stdout).split())[-300:]
        raise LabError(f"redis-server refused to start the {node.role}: {said}; check {node.template.name}.")
    _wait_for_ping(node, connect)


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
    raise LabError(
        f"The {node.role} did not answer within {START_TIMEOUT:.0f} s: {_log_tail(node)} (log: {node.log_file})."
    )


def restore_users(c, creds: credentials.Credentials) -> None:
    """Apply the lab's ACL users to a running server again (a server started by an older lab, or an
    interrupted experiment that disabled one), and switch active expiry back on."""
    pipe = c.pipeline(transaction=False)
    for line in credentials.acl_lines(creds):
        pipe.execute_command("ACL", "SETUSER", *line.split()[1:])
    pipe.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1)
    pipe.execute(raise_on_error=False)


def _restore_lessons(s: settings.Settings, creds: credentials.Credentials) -> None:
    """Undo what an interrupted experiment may have left (a disabled replication user, active expiry off)."""
    for role in ROLES:
        with client(role, s=s) as c:
            restore_users(c, creds)


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
    raise LabError(
        f"The replica did not link to the master within {LINK_TIMEOUT:.0f} s: {_log_tail(replica)} "
        f"(log: {replica.log_file}); run `python -m lab doctor`."
    )


def link_binaries(s: settings.Settings, server: binaries.Binary) -> Path:
    """Links to the chosen redis-server and redis-cli in STATE/bin, to put first on PATH (`lab env`)."""
    bin_dir = private_dir(s.path(BIN_DIR))
    (bin_dir / BIN_MARKER).touch(mode=0o600)
    chosen = [server]
    try:
        chosen.append(binaries.cli(s.redis_cli))
    except LabError:
        pass  # the servers run without redis-cli; `doctor` reports it
    for binary in chosen:
        link = bin_dir / binary.name
        if not (link.is_symlink() and os.readlink(link) == binary.path):
            link.unlink(missing_ok=True)
            link.symlink_to(binary.path)
    return bin_dir


def choose_ports(spec: str) -> None:
    """`--ports auto` (a free pair), `--ports 7000,7001`, or `--ports default`: remembered in the state directory."""
    home = settings.ensure_home_dir()
    if spec == "default":
        settings.forget_ports(home)
        return
    if spec == "auto":
        try:
            s = settings.load()
        except LabError:  # a damaged ports.json: choose afresh
            s = None
        remembered = s is not None and (home / settings.PORTS_FILE).exists()
        if remembered and not any(ports.port_taken(p) for p in (s.master_port, s.replica_port)):
            return  # keep the pair chosen earlier: free again, or...
        if remembered and all(isinstance(probe(n, s), dict) for n in nodes(s).values()):
            return  # ...already ours and running
        master, replica = ports.free_port_pair()
    else:
        parts = spec.replace(" ", "").split(",")
        if len(parts) != 2:
            raise LabError(f"--ports {spec!r} is not understood; use `auto`, `default` or two ports like `7000,7001`.")
        master, replica = (settings.parse_port(p, "--ports") for p in parts)
        if master == replica:
            raise LabError("--ports needs two different ports, e.g. `7000,7001`.")
    settings.remember_ports(home, master, replica)


def _roles_astray(found: dict, lab_nodes: dict[str, Node]) -> bool:
    """Whether the running servers' roles differ from the lab's (a failover, a promotion, a cut link)."""
    master, replica = found["master"], found["replica"]
    if isinstance(master, dict) and master.get("role") != "master":
        return True
    if isinstance(replica, dict):
        follows = int(replica.get("master_port") or 0)
        return replica.get("role") != "slave" or follows != lab_nodes["master"].port
    return False


def _stop_sentinels(home: Path) -> list[str]:
    """Stop this lab's sentinels (before `up` gives the servers their roles back, so that the sentinels do not
    undo it a moment later); a note for the student if any ran."""
    pids = [pid for pid, line in processes.lab_servers(home).items() if f"{os.sep}sentinel-" in line]
    for pid in pids:
        processes.stop(pid)
    if not pids:
        return []
    return [
        f"The {len(pids)} sentinels were stopped, so that they do not undo the lab's roles after a failover; "
        "`python -m lab up --sentinel` starts them again, watching the lab's master."
    ]


def up(ports: str | None = None) -> StatusRows:
    """Start the master, then the replica, and wait until the replica is linked. Reuses what already runs;
    gives both their roles back after a failover; moves the pair (data kept) when its ports changed."""
    if ports:
        choose_ports(ports)
    s = settings.load()
    s.ensure_home()
    if endpoint.is_external(s):
        rows = status()
        if rows[0].state != "up":
            raise LabError(
                f"The external Redis {endpoint.redact(endpoint.url())} does not answer; check {endpoint.VARIABLE}."
            )
        return rows  # the lab starts nothing: somebody else runs this Redis
    server = binaries.server(s.redis_server)
    notes: list[str] = []
    with _locked(s.home):
        if repair(s.home):
            notes.append(f"Some files in {s.home} were readable by other users; they are private again (0600/0700).")
        creds = credentials.load_or_create(s.home)
        link_binaries(s, server)
        lab_nodes = nodes(s)
        started: list[Node] = []
        try:
            found = {role: probe(node, s) for role, node in lab_nodes.items()}
            for role, node in lab_nodes.items():
                if found[role] == HUNG:
                    raise LabError(hung_sentence(node))
                if found[role] == FOREIGN:
                    raise LabError(_held_sentence(node, s))
            moving = [n for r, n in lab_nodes.items() if found[r] is None and pid_of(n) is not None]
            if _roles_astray(found, lab_nodes) or moving:
                notes += _stop_sentinels(s.home)
            if moving:
                notes.append(f"The lab moved to ports {s.master_port},{s.replica_port}; its data came along.")
            promoted = (
                found["master"] is None
                and isinstance(found["replica"], dict)
                and found["replica"].get("role") == "master"
            )
            for role, node in lab_nodes.items():
                if found[role] is None:
                    started.append(node)  # before it starts: an interrupt during the start stops it too
                    _start(node, s, creds, server)  # (a copy still running on the old ports is stopped first)
            _restore_lessons(s, creds)
            if promoted:
                _copy_back_from_promoted(lab_nodes, s)
            _ensure_topology(lab_nodes, s)
        except BaseException:
            for node in reversed(started):  # nothing half-started left running
                _stop(node, s)
            raise
    rows = status()
    rows.notes[:0] = notes
    return rows


def kill_pid(pid: int | None) -> None:
    """kill -9 a server of the lab and wait until it is gone (a crash: no AOF flush, no goodbye)."""
    processes.kill(pid)


def _running_pid(node: Node, s: settings.Settings) -> int | None:
    """The pid of `node`'s server: from the server itself if it answers, else from its pid file."""
    found = probe(node, s)
    return int(found["process_id"]) if isinstance(found, dict) and "process_id" in found else pid_of(node)


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
    _forget_pid_file(node)
    return True


def _forget_pid_file(node: Node) -> None:
    try:
        node.pid_file.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only state directory: the server is stopped all the same


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
        if ports.port_taken(node.port):
            raise LabError(
                f"Port {node.port}, {self.what}'s, is held by another program; free it or set {self.variable}."
            )
        launch(node, text, server, connect, args)
        self.started.append(node)


def start_node(role: str) -> Node:
    """Start one of the pair's servers as it is configured, without touching the other (the failover
    lessons rejoin a killed node themselves); a no-op if it already runs."""
    s = settings.load()
    port_of(role, s)
    node = nodes(s)[role]
    with _locked(s.ensure_home()):
        if probe(node, s) is None:
            _start(node, s, credentials.load_or_create(s.home), binaries.server(s.redis_server))
    return node


def stop_by_pid(node: Node) -> bool:
    """Stop a node of the lab (a sentinel, a cluster node) from its pid file; True if one was running."""
    pid = pid_of(node)
    if pid is None:
        return False
    processes.stop(pid)
    _forget_pid_file(node)
    return True


def stop(role: str, save: bool = False) -> bool:
    """Stop one of the lab's servers (a lesson: what happens when Redis goes away); `up()` brings it back."""
    s = settings.load()
    port_of(role, s)  # an unknown role is one sentence
    with _locked(s.ensure_home()):
        return _stop(nodes(s)[role], s, save)


def kill(role: str) -> int | None:
    """kill -9 one of the lab's servers (a crash: no AOF flush, no goodbye); the pid it had, or None."""
    s = settings.load()
    port_of(role, s)
    pid = _running_pid(nodes(s)[role], s)
    if pid is not None:
        kill_pid(pid)
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
    with _locked(home, required=False):
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
        stopped.problems.append(
            f"Every server is stopped, but these files could not be removed: {', '.join(problems)}."
        )
    return stopped


def _external_status(s: settings.Settings) -> StatusRows:
    import redis

    rows = StatusRows()
    for role in ROLES:
        row = ServerStatus(role, 0, "down", binary=endpoint.redact(endpoint.url(role)))
        try:
            with endpoint.connect(role, socket_connect_timeout=2.0) as c:
                info = c.info()
            row.state, row.version, row.actual_role = "up", info.get("redis_version"), info.get("role")
            row.port = info.get("tcp_port", 0)
            row.link_status = info.get("master_link_status") or "external"
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
            pass
        rows.append(row)
    return rows


def status() -> StatusRows:
    """The state of both servers; a server that is down is reported as down."""
    s = settings.load()
    if endpoint.is_external(s):
        return _external_status(s)
    rows = StatusRows()
    for node in nodes(s).values():
        found = (
            probe(node, s)
            if (s.home / credentials.FILE).exists()
            else (FOREIGN if ports.port_taken(node.port) else None)
        )
        if not isinstance(found, dict):
            rows.append(ServerStatus(node.role, node.port, found or "down", pid=pid_of(node)))
            if found == HUNG:
                rows.notes.append(f"❌ {hung_sentence(node)}")
            continue
        rows.append(
            ServerStatus(
                role=node.role,
                port=node.port,
                state="loading" if found.get("loading") else "up",
                pid=found.get("process_id"),
                version=found.get("redis_version"),
                binary=found.get("executable"),
                actual_role=found.get("role"),
                link_status=found.get("master_link_status"),
                master_repl_offset=found.get("master_repl_offset"),
                slave_repl_offset=found.get("slave_repl_offset"),
                connected_replicas=found.get("connected_slaves"),
                master_port=int(found["master_port"]) if found.get("master_port") else None,
                log=str(node.log_file),
            )
        )
    problem = topology_problem(rows)
    if problem:
        rows.notes.append(f"❌ {problem}")
    return rows


def topology_problem(rows: list[ServerStatus]) -> str | None:
    """One sentence when both servers run but not as a master and its replica (no master, two masters)."""
    if len(rows) != 2 or not all(r.state == "up" for r in rows):
        return None
    master, replica = rows
    fix = "`python -m lab up` gives them their roles back (and stops sentinels that would undo it)."
    if master.actual_role == replica.actual_role == "master":
        return f"Two masters: ports {master.port} and {replica.port} both take writes and drift apart; {fix}"
    if master.actual_role == replica.actual_role == "slave":
        return f"No master: ports {master.port} and {replica.port} are both replicas, every write is refused; {fix}"
    if master.actual_role != "master" or replica.master_port != master.port:
        return f"The replica (port {replica.port}) does not follow the lab's master (port {master.port}); {fix}"
    return None


def is_up() -> bool:
    """True when both servers answer, as the lab's master and its linked replica."""
    try:
        rows = status()
    except LabError:
        return False
    return all(r.state == "up" for r in rows) and rows[1].link_status == "up" and topology_problem(rows) is None
