"""What runs on the lab's ports, as data: `probe` one server (a typed result), `status()` both as rows, and the
topology problems a student must hear about (no master, two masters, a replica following someone else).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..core import fix
from ..core.errors import LabError
from ..core.i18n import N_, _
from ..state import credentials, endpoint, ports, settings
from ..state.listeners import holder
from .clients import ROLES, client
from .nodes import Node, pair_nodes, pid_of

UP, DOWN, HUNG, FOREIGN, LOADING = "up", "down", "hung", "foreign", "loading"
PROBE_TIMEOUT = 2.0  # seconds a server may take to answer INFO before it is called hung
HEADERS = (N_("server"), N_("state"), N_("port"), "pid", "Redis", N_("role"), N_("link"))  # status table headers


@dataclass(frozen=True)
class Probe:
    """What answered on a server's port: `state` (up, down, hung, foreign, loading) and, when up, its INFO."""

    state: str
    info: dict = field(default_factory=dict)

    @property
    def up(self) -> bool:
        return self.state == UP


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
        on_port, running, link = (
            _("{role}: {state} on port {port}"),
            _(", Redis {version}, pid {pid}"),
            _(", link {link}"),
        )
        return "\n".join(
            [
                on_port.format(role=_(r.role), state=r.state, port=r.port)
                + (running.format(version=r.version, pid=r.pid) if r.state == "up" else "")
                + (link.format(link=r.link_status) if r.link_status else "")
                for r in self
            ]
            + self.notes
        )

    def _repr_html_(self) -> str:
        head = "<tr>" + "".join(f"<th>{_(name)}</th>" for name in HEADERS) + "</tr>"
        body = "".join(
            f"<tr><td>{_(r.role)}</td><td>{r.state}</td><td>{r.port}</td><td>{r.pid or ''}</td>"
            f"<td>{r.version or ''}</td><td>{r.actual_role or ''}</td><td>{r.link_status or ''}</td></tr>"
            for r in self
        )
        notes = "".join(f"<p>{note}</p>" for note in self.notes)
        return f"<table>{head}{body}</table>{notes}"


def probe(node: Node, s: settings.Settings) -> Probe:
    """What answers on `node.port`: the lab's server (up, with its INFO; or loading), nothing (down), another
    program (foreign), or the lab's server that accepts connections but does not answer (hung: stopped with
    SIGSTOP, or busy running a script)."""
    import redis

    try:
        c = client(node.role, s=s, socket_connect_timeout=0.5, socket_timeout=PROBE_TIMEOUT)
        with c:
            pipe = c.pipeline(transaction=False)
            pipe.info("server")
            pipe.info("replication")
            server, replication = pipe.execute()
    except LabError:
        return Probe(FOREIGN if ports.port_taken(node.port) else DOWN)
    except redis.BusyLoadingError:
        return Probe(LOADING)
    except redis.TimeoutError:  # the kernel accepted the connection, nobody answered: ours, stopped or busy?
        return Probe(HUNG if pid_of(node) is not None else FOREIGN)
    except redis.ResponseError as exc:
        return Probe(HUNG if str(exc).startswith("BUSY") and pid_of(node) is not None else FOREIGN)
    except redis.AuthenticationError:
        return Probe(FOREIGN)
    except redis.ConnectionError:
        return Probe(FOREIGN if ports.port_taken(node.port) else DOWN)
    if Path(str(server.get("config_file", ""))).resolve() != node.runtime_conf.resolve():
        return Probe(FOREIGN)  # the same password would be a coincidence, but another state directory is not ours
    return Probe(UP, {**server, **replication})


def hung_sentence(node: Node) -> str:
    """What a student reads when a server holds its port but does not answer."""
    pid = pid_of(node)
    if pid:
        said = _("The {role} on port {port} does not answer (hung or busy: stopped, or running a long script); "
                 "if you stopped it (Ctrl-Z, kill -STOP), `kill -CONT {pid}`; otherwise restart it: "
                 "{restart}.")  # fmt: skip
    else:
        said = _("The {role} on port {port} does not answer (hung or busy: stopped, or running a long script); "
                 "restart it: {restart}.")  # fmt: skip
    return said.format(role=_(node.role), port=node.port, pid=pid, restart=fix.command("down && up"))


def held_sentence(node: Node, s: settings.Settings) -> str:
    if s.ports_from_environment:
        said = _("Port {port}, the {role}'s, is held by {holder}; stop it (`ss -ltnp | grep {port}` shows "
                 "which), or unset LAB_MASTER_PORT and LAB_REPLICA_PORT: the lab then chooses free ports itself "
                 "({up}).")  # fmt: skip
    else:
        said = _("Port {port}, the {role}'s, is held by {holder}; {up} moves the lab to free ports (and says which).")
    return said.format(port=node.port, role=_(node.role), holder=holder(node.port), up=fix.command("up"))


def external_status(s: settings.Settings) -> StatusRows:
    import redis

    rows = StatusRows()
    for role in ROLES:
        row = ServerStatus(role, 0, "down", binary=endpoint.redact(endpoint.url(role)))
        try:
            with client(role, socket_connect_timeout=2.0) as c:
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
        return external_status(s)
    rows = StatusRows()
    for node in pair_nodes(s).values():
        if (s.home / credentials.FILE).exists():
            found = probe(node, s)
        else:
            found = Probe(FOREIGN if ports.port_taken(node.port) else DOWN)
        if found.state not in (UP, LOADING):
            rows.append(ServerStatus(node.role, node.port, found.state, pid=pid_of(node)))
            if found.state == HUNG:
                rows.notes.append(f"❌ {hung_sentence(node)}")
            continue
        info = found.info
        rows.append(
            ServerStatus(
                role=node.role,
                port=node.port,
                state=found.state,
                pid=info.get("process_id"),
                version=info.get("redis_version"),
                binary=info.get("executable"),
                actual_role=info.get("role"),
                link_status=info.get("master_link_status"),
                master_repl_offset=info.get("master_repl_offset"),
                slave_repl_offset=info.get("slave_repl_offset"),
                connected_replicas=info.get("connected_slaves"),
                master_port=int(info["master_port"]) if info.get("master_port") else None,
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
    if master.actual_role == replica.actual_role == "master":
        said = _("Two masters: ports {master} and {replica} both take writes and drift apart; {remedy}")
    elif master.actual_role == replica.actual_role == "slave":
        said = _("No master: ports {master} and {replica} are both replicas, every write is refused; {remedy}")
    elif master.actual_role != "master" or replica.master_port != master.port:
        said = _("The replica (port {replica}) does not follow the lab's master (port {master}); {remedy}")
    else:
        return None
    remedy = _("{up} gives them their roles back (and stops sentinels that would undo it).").format(
        up=fix.command("up")
    )
    return said.format(master=master.port, replica=replica.port, remedy=remedy)


def is_up() -> bool:
    """True when both servers answer, as the lab's master and its linked replica."""
    try:
        rows = status()
    except LabError:
        return False
    return all(r.state == "up" for r in rows) and rows[1].link_status == "up" and topology_problem(rows) is None
