"""A six-node Redis Cluster (three masters, three replicas): `./workbook cluster up|down|status`.

The nodes start from `conf/cluster.conf` plus a runtime file each (as the lab's pair does), then
`redis-cli --cluster create` assigns the 16384 slots and pairs each master with a replica. Ports:
`LAB_CLUSTER_PORTS` (six, comma-separated), or six free ones chosen once and remembered. The cluster is
for experiments: `cluster down` stops the nodes and forgets the cluster (its keys too).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import time

from ..core import fix
from ..core.errors import LabError
from ..core.i18n import _
from ..state import binaries, credentials, settings
from ..state.ports import forget_group, held_by_stranger, port_group
from . import clients, tls
from . import pair as servers
from .nodes import Node, NodeGroup, stop_by_pid, with_fresh_ports
from .runtime_conf import runtime_config

SIZE = 6
PORTS_FILE = "cluster-ports.json"
FORM_TIMEOUT = 30.0


def ports(s: settings.Settings | None = None, choose: bool = True) -> list[int]:
    """The nodes' ports: LAB_CLUSTER_PORTS, else six free ones chosen once and remembered (each node also
    listens on its port + 10000, the cluster bus); with `choose=False`, [] when none was chosen yet."""
    found = port_group((s or settings.load()).cluster_ports, SIZE, PORTS_FILE, plus=10000, choose=choose)
    if found and max(found) > 55535:
        raise LabError(_("Cluster ports must be 55535 or less (each node also uses its port + 10000)."))
    return found


def nodes(s: settings.Settings | None = None, choose: bool = True) -> list[Node]:
    s = s or settings.load()
    return [Node(f"cluster-{port}", port, s.home, conf="cluster") for port in ports(s, choose)]


def protection(s: settings.Settings | None = None) -> tls.Files | None:
    """The cluster's TLS files when it runs with TLS (its nodes' runtime files say so), else None."""
    s = s or settings.load()
    for node in nodes(s, choose=False):
        try:
            if "tls-port" in node.runtime_conf.read_text():
                return tls.files(s.home)
        except OSError:
            continue
    return None


def protection_sentence(s: settings.Settings | None = None) -> str:
    """What protects this cluster's bus, in a sentence for the chapter."""
    s = s or settings.load()
    if protection(s):
        return _("The bus and the nodes' port use mutual TLS: only a peer with a certificate of this lab's own CA "
                 "({folder}, 0600) gets in, and the lab's clients trust only nodes that show one.").format(
            folder=s.home / tls.FOLDER
        )  # fmt: skip
    return tls.why_not(binaries.server(s.redis_server)) or _("The cluster is not running: `lab.cluster.up()`.")


def connect(port: int, user: str = "admin", s: settings.Settings | None = None, **options):
    """A plain (not cluster-aware) client for one node (over the lab's TLS when the cluster has it)."""
    made = protection(s)
    return clients.client_at(port, user, s, **(tls.client_options(made) if made else {}), **options)


def cluster_client(user: str = "admin", **options):
    """redis-py's RedisCluster: it learns which node holds which slots and follows MOVED redirections."""
    made = protection()
    return clients.cluster(ports(), user, **(tls.client_options(made) if made else {}), **options)


def _answers(node: Node, s: settings.Settings) -> bool:
    import redis

    try:
        with connect(node.port, s=s, socket_connect_timeout=0.2, socket_timeout=0.5) as c:
            return bool(c.ping())
    except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError, LabError):
        return False


def info(port: int, s: settings.Settings | None = None) -> dict:
    """CLUSTER INFO of one node as a dict."""
    with connect(port, s=s, socket_connect_timeout=0.3) as c:
        raw = c.execute_command("CLUSTER", "INFO")
    text = raw if isinstance(raw, str) else raw.decode()
    return dict(line.split(":", 1) for line in text.strip().splitlines() if ":" in line)


def up() -> list[dict]:
    """Start the six nodes (reusing running ones) and create the cluster if it does not exist yet."""
    s = settings.load()
    s.ensure_home()
    moved = held_by_stranger(s.cluster_ports, PORTS_FILE, "the cluster nodes'")
    if moved:
        down()  # a cluster is its nodes' ports: it is made anew on the new ones
        forget_group(PORTS_FILE)
        print(_("{moved} The cluster is made anew on them.").format(moved=moved))
    server = binaries.server(s.redis_server)
    cli = binaries.cli(s.redis_cli)
    creds = credentials.load_or_create(s.home)
    unprotected = tls.why_not(server)
    made = protection(s) or (None if unprotected else tls.files(s.home))
    if unprotected and made is None:
        print(f"⚠️ {unprotected}")
    with_fresh_ports(lambda: _start(s, server, cli, creds, made), s.cluster_ports, PORTS_FILE, down)
    return status()


def _start(s: settings.Settings, server: binaries.Binary, cli: binaries.Binary, creds, made) -> None:
    with NodeGroup("a cluster node", "LAB_CLUSTER_PORTS") as group:
        for node in nodes(s):
            if _answers(node, s):
                with connect(node.port, s=s) as c:
                    servers.restore_users(c, creds)  # a node started by an older lab gets today's users
                continue
            text = runtime_config(node, s, creds, server.version)
            if made:
                text += "\n".join(tls.server_lines(made, node.port)) + "\n"
            group.launch(node, text, server, functools.partial(connect, node.port, s=s))
        if int(info(ports(s)[0], s).get("cluster_known_nodes", 1)) < SIZE:
            _create(s, cli, creds, made)
        _wait_until_formed(s)


def _create(s: settings.Settings, cli: binaries.Binary, creds: credentials.Credentials, made) -> None:
    addresses = [f"{s.host}:{p}" for p in ports(s)]
    done = subprocess.run(
        [cli.path, *(tls.cli_args(made) if made else []), "--cluster", "create", *addresses, "--cluster-replicas",
         "1", "--cluster-yes"],
        env={**os.environ, "REDISCLI_AUTH": creds.admin}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if done.returncode != 0:
        said = " ".join(line for line in done.stdout.splitlines() if "ERR" in line or "[ERR]" in line)[-300:]
        raise LabError(
            _("redis-cli could not create the cluster: {said}; run {down} and try again.").format(
                said=said or done.stderr.strip()[-300:], down=fix.command("cluster down")
            )
        )


def _wait_until_formed(s: settings.Settings) -> None:
    deadline = time.monotonic() + FORM_TIMEOUT
    while time.monotonic() < deadline:
        try:
            views = [info(p, s) for p in ports(s)]
        except Exception:
            views = []
        if views and all(
            v.get("cluster_state") == "ok" and int(v.get("cluster_known_nodes", 0)) == SIZE for v in views
        ):
            if sum(r["role"] == "replica" and r["link"] == "connected" for r in status(s)) == SIZE // 2:
                return
        time.sleep(0.1)
    raise LabError(_("The cluster did not form within {timeout} s (a node never joined); see {logs}, then "
                     "{restart}.").format(timeout=f"{FORM_TIMEOUT:.0f}", logs=f"{s.home}/cluster-*.log",
                                          restart=fix.command("cluster down && cluster up")))  # fmt: skip


def status(s: settings.Settings | None = None) -> list[dict]:
    """One row per node: port, up/down, role, the slots it serves, the master it follows."""
    import redis

    s = s or settings.load()
    known = ports(s, choose=False)  # a status chooses nothing: no cluster yet, no rows
    table: dict[int, dict] = {p: {"port": p, "state": "down", "role": None, "slots": "", "master_port": None, "link": None}
                              for p in known}  # fmt: skip
    for port in known:
        try:
            with connect(port, s=s, socket_connect_timeout=0.3) as c:
                raw = c.execute_command("CLUSTER", "NODES")
        except (redis.ConnectionError, redis.TimeoutError, LabError):
            continue
        text = raw if isinstance(raw, str) else raw.decode()
        ids = {}
        for line in text.strip().splitlines():
            parts = line.split()
            node_port = int(parts[1].split("@")[0].rsplit(":", 1)[1])
            ids[parts[0]] = node_port
        for line in text.strip().splitlines():
            parts = line.split()
            node_port = int(parts[1].split("@")[0].rsplit(":", 1)[1])
            if node_port not in table:  # a node the lab did not start has joined: a classmate's, over the bus
                table[node_port] = {"port": node_port, "state": "stranger", "role": None, "slots": "",
                                    "master_port": None, "link": None}  # fmt: skip
            row = table[node_port]
            flags = parts[2]
            row["role"] = "master" if "master" in flags else "replica"
            row["master_port"] = ids.get(parts[3]) if parts[3] != "-" else None
            row["link"] = parts[7]
            row["slots"] = " ".join(parts[8:])
            row["failed"] = "fail" in flags
        table[port]["state"] = "up"
        break
    for port, row in table.items():
        if row["state"] == "down" and _answers(Node(f"cluster-{port}", port, s.home), s):
            row["state"] = "up"
    return list(table.values())


def slots_served(rows: list[dict]) -> int:
    """How many of the 16384 hash slots the masters in `status()` rows serve between them."""
    served = 0
    for row in rows:
        if row["role"] != "master" or row.get("failed"):
            continue
        for part in row["slots"].split():
            low, _dash, high = part.partition("-")
            if low.isdigit():
                served += int(high or low) - int(low) + 1
    return served


def slot_owner(slot: int, rows: list[dict] | None = None) -> int | None:
    """The port of the master serving `slot`, from the masters' slot ranges in `status()`."""
    for row in rows or status():
        if row["role"] != "master":
            continue
        for part in row["slots"].split():
            low, _dash, high = part.partition("-")
            if low.isdigit() and int(low) <= slot <= int(high or low):
                return row["port"]
    return None


def down() -> list[str]:
    """Stop the nodes and forget the cluster (its files and keys): the next `cluster up` creates it anew."""
    s = settings.load()
    stopped = [node.role for node in nodes(s, choose=False) if stop_by_pid(node)]
    for node in nodes(s, choose=False):
        shutil.rmtree(node.data_dir, ignore_errors=True)
    return stopped
