"""Three sentinels beside the lab's pair (`./workbook up --sentinel`), and the failover they run.

Each sentinel starts from `conf/sentinel.conf` plus a runtime file in the state directory (its port,
folder, the master to watch, passwords). Ports: `LAB_SENTINEL_PORTS` ("26380,26381,26382"), or a free
trio chosen once and remembered in the state directory.
"""

from __future__ import annotations

import functools
import secrets
import time

from ..core.errors import LabError
from ..core.i18n import _
from ..state import binaries, credentials, settings
from ..state.ports import forget_group, held_by_stranger, port_group
from . import clients
from . import pair as servers
from .nodes import Node, NodeGroup, stop_by_pid, with_fresh_ports
from .runtime_conf import quote_path

MASTER_NAME = "labmaster"
COUNT = 3
QUORUM = 2
PORTS_FILE = "sentinel-ports.json"
DISCOVERY_TIMEOUT = 15.0


def ports(s: settings.Settings | None = None, choose: bool = True) -> list[int]:
    """The sentinels' ports: LAB_SENTINEL_PORTS, else a free trio chosen once and remembered (not chosen
    when `choose` is False: a command that only reads writes nothing)."""
    return port_group((s or settings.load()).sentinel_ports, COUNT, PORTS_FILE, choose=choose)


def started_once(s: settings.Settings | None = None) -> bool:
    """Whether sentinels were ever started in this state directory (without choosing ports as a side effect)."""
    return any((s or settings.load()).home.glob("sentinel-*.runtime.conf"))


def nodes(s: settings.Settings | None = None, choose: bool = True) -> list[Node]:
    s = s or settings.load()
    return [Node(f"sentinel-{i}", port, s.home, conf="sentinel") for i, port in enumerate(ports(s, choose), 1)]


def connect(port: int, s: settings.Settings | None = None, **options):
    """A client for one sentinel (they require the admin password)."""
    return clients.sentinel_at(port, s, **options)


def runtime_config(
    node: Node, s: settings.Settings, creds: credentials.Credentials, ids: dict[int, str] | None = None
) -> str:
    """The runtime part of a sentinel's configuration, then `include conf/sentinel.conf`. `ids` (port → 40-hex
    sentinel id) gives this sentinel its id and names the others, as a sentinel's own rewritten file does: the
    three know each other from their first second instead of after their first hello messages (every 2 s)."""
    q = quote_path
    ids = ids or {}
    known = [f"sentinel known-sentinel {MASTER_NAME} {s.host} {port} {ident}"
             for port, ident in sorted(ids.items()) if port != node.port]  # fmt: skip
    return "\n".join([
        "# Written by lab/servers/sentinel.py at each start, then rewritten by the sentinel itself. Holds passwords.",
        f"port {node.port}",
        f"dir {q(node.data_dir)}",
        f"pidfile {q(node.pid_file)}",
        f"logfile {q(node.log_file)}",
        "daemonize yes",
        'proc-title-template "{title} {listen-addr} {server-mode} {config-file}"',
        # the sentinels' own password (they send it to each other, and to a sentinel's port even while it is down:
        # never the admin's, which opens the servers themselves)
        f"requirepass {creds.sentinels}",
        f"sentinel sentinel-pass {creds.sentinels}",
        f"sentinel monitor {MASTER_NAME} {s.host} {s.master_port} {QUORUM}",
        f"sentinel auth-user {MASTER_NAME} {credentials.SENTINEL_USER}",
        f"sentinel auth-pass {MASTER_NAME} {creds.sentinel}",
        *([f"sentinel myid {ids[node.port]}"] if node.port in ids else []),
        *known,
        f"include {q(node.template)}",
    ]) + "\n"  # fmt: skip


def _running_id(node: Node, s: settings.Settings) -> str | None:
    """The id of the sentinel running on `node`'s port (SENTINEL MYID), or None."""
    import redis

    try:
        with connect(node.port, s, socket_connect_timeout=0.2, socket_timeout=0.5) as c:
            return str(c.execute_command("SENTINEL", "MYID"))
    except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
        return None


def _answers(node: Node, s: settings.Settings) -> bool:
    import redis

    try:
        with connect(node.port, s, socket_connect_timeout=0.2, socket_timeout=0.5) as c:
            return bool(c.ping())
    except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
        return False


def up() -> list[dict]:
    """Start the lab (if needed) and three sentinels watching its master; wait until they know each other."""
    s = settings.load()
    servers.up()
    moved = held_by_stranger(s.sentinel_ports, PORTS_FILE, "the sentinels'")
    if moved:
        down()  # the others run on ports that are no longer the group's
        forget_group(PORTS_FILE)
        print(moved)
    server = binaries.server(s.redis_server)
    creds = credentials.load(s.home)
    with_fresh_ports(lambda: _start(s, server, creds), s.sentinel_ports, PORTS_FILE, down)
    return status()


def _start(s: settings.Settings, server, creds) -> None:
    group_nodes = nodes(s)
    ids = {node.port: _running_id(node, s) or secrets.token_hex(20) for node in group_nodes}
    with NodeGroup("a sentinel", "LAB_SENTINEL_PORTS") as group:
        for node in group_nodes:
            if not _answers(node, s):
                text = runtime_config(node, s, creds, ids)
                group.launch(node, text, server, functools.partial(connect, node.port, s), args=("--sentinel",))
        _wait_for_discovery(s)


def _wait_for_discovery(s: settings.Settings) -> None:
    """Every sentinel must see the master, its replica and the two other sentinels before a failover can work."""
    deadline = time.monotonic() + DISCOVERY_TIMEOUT
    while time.monotonic() < deadline:
        if all(row["sentinels"] == COUNT - 1 and row["replicas"] >= 1 for row in status(s)) and all(
            _replica_known(node.port, s) for node in nodes(s)
        ):
            return
        time.sleep(0.05)
    said = _("The sentinels did not find each other within {timeout} s; see {logs}.")
    raise LabError(said.format(timeout=f"{DISCOVERY_TIMEOUT:.0f}", logs=f"{s.home}/sentinel-*.log"))


def _replica_known(port: int, s: settings.Settings) -> bool:
    """Whether the sentinel on `port` has read its replica's own INFO (its link to the master is ok): until then
    it would find no replica it may promote (NOGOODSLAVE)."""
    import redis

    try:
        with connect(port, s, socket_connect_timeout=0.3, socket_timeout=0.5) as c:
            replicas = c.execute_command("SENTINEL", "REPLICAS", MASTER_NAME)
    except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
        return False
    views = [dict(zip(r[::2], r[1::2])) if isinstance(r, list) else r for r in replicas or []]
    return any(v.get("flags") == "slave" and v.get("master-link-status") == "ok"
               and int(v.get("info-refresh", 10**9)) < 5000 for v in views)  # fmt: skip


def status(s: settings.Settings | None = None) -> list[dict]:
    """Per sentinel: port, up, the master it points to, replicas and other sentinels it knows."""
    import redis

    s = s or settings.load()
    rows = []
    for node in nodes(s):
        row = {"sentinel": node.role, "port": node.port, "state": "down", "master": None, "replicas": 0, "sentinels": 0}
        try:
            with connect(node.port, s) as c:
                info = c.execute_command("SENTINEL", "MASTER", MASTER_NAME)
                fields = dict(zip(info[::2], info[1::2])) if isinstance(info, list) else info
                row.update(state="up", master=f"{fields['ip']}:{fields['port']}", flags=fields.get("flags"),
                           replicas=int(fields.get("num-slaves", 0)), sentinels=int(fields.get("num-other-sentinels", 0)))  # fmt: skip
        except (redis.ConnectionError, redis.TimeoutError):
            pass
        rows.append(row)
    return rows


def down() -> list[str]:
    """Stop the sentinels."""
    s = settings.load()
    return [node.role for node in nodes(s, choose=False) if stop_by_pid(node)]


def client_factory(user: str = "admin", **options):
    """redis-py's Sentinel: ask the sentinels where the master is, and follow it through a failover."""
    return clients.through_sentinels(ports(), MASTER_NAME, user, **options)
