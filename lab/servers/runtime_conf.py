"""The runtime configuration of the lab's master and replica: its `conf/` file (`include`), then what only this
machine knows — port, data folder, log and pid files, the ACL users and their passwords. Written 0600 at each
start; the conf files a student reads hold no secret and no path.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..state import credentials, settings

if TYPE_CHECKING:
    from .nodes import Node


def quote_path(path: Path) -> str:
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def runtime_config(node: Node, s: settings.Settings, creds: credentials.Credentials, version: tuple) -> str:
    """The runtime configuration of `node`: its conf file, then what only this machine knows."""
    lines = [
        "# Written by lab/servers/runtime_conf.py at each start; holds passwords (mode 0600). Do not edit: edit conf/.",
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
        # chapter 05's DEBUG SET-ACTIVE-EXPIRE: 7.0 refuses DEBUG unless told (6.2 has no such setting)
        lines.append("enable-debug-command local")
    # how to log in to a master: the replica always, the master too if it must copy back from a promoted replica
    lines += [f"masteruser {credentials.REPLICATION_USER}", f"masterauth {creds.replication}"]
    if node.role == "replica":
        lines.append(f"replicaof {s.host} {s.master_port}")
    return "\n".join(lines) + "\n"


def scratch_config(node: Node, password: str, follows: int | None = None) -> str:
    """A throwaway server's configuration (an exercise's): loopback, one password, no persistence, a disk sync
    that starts at once; `follows`: the port of the server it replicates. Written 0600, never on a command line."""
    lines = [
        "# Written by lab/servers/runtime_conf.py for a throwaway server; holds its password (mode 0600).",
        f"port {node.port}",
        "bind 127.0.0.1",
        f"dir {quote_path(node.data_dir)}",
        f"logfile {quote_path(node.log_file)}",
        'proc-title-template "{title} {listen-addr} {server-mode} {config-file}"',
        f"requirepass {password}",
        f"masterauth {password}",
        'save ""',
        "appendonly no",
        "repl-diskless-sync no",
        "repl-diskless-sync-delay 0",
    ]
    if follows is not None:
        lines.append(f"replicaof 127.0.0.1 {follows}")
    return "\n".join(lines) + "\n"
