"""Small display helpers for the chapters: a file, a function's source, a redacted runtime config, a status table,
a redis-cli command and its answer, and the workshop's two terminals replayed (`by_hand`)."""

from __future__ import annotations

import inspect
import os
import re
import secrets
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ..core.marks import Mark, check
from ..state import settings
from .results import Measured


def _markdown(text: str):
    from IPython.display import Markdown

    return Markdown(text)


def show_file(path: str | Path, language: str = "") -> object:
    """A file of the repository as a Markdown code block (e.g. `conf/master.conf`)."""
    full = Path(path) if Path(path).is_absolute() else settings.REPO_ROOT / path
    return _markdown(f"**`{full.relative_to(settings.REPO_ROOT)}`**\n\n```{language}\n{full.read_text()}```")


def show_source(obj: object) -> object:
    """The real code of a lab function, so the narrative never drifts from the library."""
    module = inspect.getmodule(obj)
    where = f"{module.__name__}" if module else ""
    return _markdown(f"*from `{where}`*\n\n```python\n{inspect.getsource(obj)}```")


def redact(text: str) -> str:
    """Hide every password in a Redis config text (`>secret` in ACL rules, `masterauth secret`)."""
    text = re.sub(r">\S+", ">***", text)
    return re.sub(r"(?m)^(masterauth|requirepass)\s+\S+", r"\1 ***", text)


def show_runtime_conf(role: str) -> object:
    """What the lab adds to `conf/<role>.conf` at start, with the passwords hidden."""
    from ..servers.nodes import pair_nodes

    node = pair_nodes(settings.load())[role]
    text = redact(node.runtime_conf.read_text()).replace(str(settings.REPO_ROOT), "<repo>")
    return _markdown(f"**the {role}'s runtime configuration** (passwords hidden)\n\n```\n{text}```")


def status_table():
    """`lab.status()` as a pandas DataFrame, one row per server."""
    import pandas as pd

    from ..servers.health import status

    return pd.DataFrame([r.as_dict() for r in status()]).set_index("role").drop(columns=["log"])


def _cli_where(lab, role: str) -> tuple[list[str], dict]:
    """redis-cli's arguments to reach `role` and its environment: the password travels in REDISCLI_AUTH, never on
    the command line, and only to this lab's own server (or the external Redis you gave, with its host, user and
    TLS)."""
    from urllib.parse import unquote, urlsplit

    from ..state import credentials, listeners

    s = lab.settings
    env = {k: v for k, v in os.environ.items() if k != "REDISCLI_AUTH"}
    if s.is_external:
        url = urlsplit(s.endpoint(role) or s.endpoint("master"))
        if url.scheme == "unix":
            where = ["-s", url.path]
        else:
            host, port = url.hostname or "127.0.0.1", url.port or 6379
            if listeners.is_loopback(host):
                listeners.verify_owner(port)  # a Redis on this host: only this user's gets the password
            where = ["-h", host, "-p", str(port)]
            where += ["--tls"] if url.scheme == "rediss" else []
        where += ["--user", unquote(url.username)] if url.username else []
        if url.password:
            env["REDISCLI_AUTH"] = unquote(url.password)
    else:
        port = s.master_port if role == "master" else s.replica_port
        listeners.verify(port, s.home)  # the password goes to this lab's server, or nowhere
        where = ["-p", str(port)]
        env["REDISCLI_AUTH"] = credentials.load(s.home).admin
    return where, env


def redis_cli(lab, role: str, *args: str) -> None:
    """Run `redis-cli` as the workshop does — `redis-cli -p 6380 get cache:test-key` — and print the command, as
    you would type it, with its answer."""
    from ..state import binaries

    where, env = _cli_where(lab, role)
    command = [*where, *args]
    done = subprocess.run([binaries.cli(lab.settings.redis_cli).path, *command], env=env, capture_output=True,
                          text=True, timeout=10)  # fmt: skip
    print("$ redis-cli " + " ".join(shlex.quote(a) for a in command))
    print((done.stdout + done.stderr).rstrip())


def monitor(lab, action, role: str = "master", limit: int = 20) -> object:
    """`redis-cli monitor` in the background while `action()` runs — what a second terminal shows while the form
    is used: every command the server receives, live. Prints the command and what it showed; `action`'s result."""
    import threading

    from ..state import binaries

    where, env = _cli_where(lab, role)
    command = [*where, "monitor"]
    print("$ redis-cli " + " ".join(shlex.quote(a) for a in command))
    proc = subprocess.Popen([binaries.cli(lab.settings.redis_cli).path, *command], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    seen: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            seen.append(line.rstrip())
            ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        ready.wait(5)  # its first line: OK (monitoring), or why it cannot
        result = action()
        time.sleep(0.2)  # the last commands reach the monitor
    finally:
        proc.terminate()
        proc.wait(5)
        reader.join(2)
    shown = [line for line in seen if line != "OK"]  # (its greeting)
    print("\n".join(shown[:limit]) + (f"\n… {len(shown) - limit} more" if len(shown) > limit else ""))
    return result


# What a server says in its log at the moments the workshop's two terminals show (6.2 and 7.0 wordings).
LOG_MOMENTS = ("Server initialized", "Ready to accept connections", "Connecting to MASTER",
               "MASTER <-> REPLICA sync started", "asks for synchronization", "Full resync",
               "Synchronization with replica", "sync: Finished with success", "Received SIGTERM",
               "ready to exit")  # fmt: skip


@dataclass(frozen=True)
class ByHand(Measured):
    """The workshop's two terminals, replayed: the commands for this lab, and what each server logged."""

    commands: tuple[str, ...]
    logs: dict
    linked: bool
    chapter = "01"

    @property
    def frame(self):
        import pandas as pd

        return pd.DataFrame([{"server": role, "log": line} for role, lines in self.logs.items() for line in lines])

    def __str__(self) -> str:
        said = [f"# {role}'s terminal\n" + "\n".join(lines) for role, lines in self.logs.items()]
        return "In two terminals, from the clone:\n" + "\n".join(self.commands) + "\n\n" + "\n\n".join(said)

    def checks(self) -> list[Mark]:
        synced = any("Finished with success" in line for line in self.logs.get("replica", []))
        return [check("01.by_hand", "By hand, from conf/: the replica logged its sync with the master",
                      self.linked and synced, f"{sum(map(len, self.logs.values()))} log lines", "lab.up()")]  # fmt: skip


def by_hand(lab) -> ByHand:
    """Start a master and its replica the workshop's way — `redis-server <conf>` in the foreground, from conf/ —
    on two throwaway servers (the lab's pair is untouched), watch their logs until the replica has synced, stop
    them (SIGTERM, as Ctrl-C would), and show the commands that do the same for this lab in two terminals."""
    import redis

    from ..servers.nodes import Node, launch
    from ..servers.runtime_conf import runtime_config
    from ..state import binaries, credentials, ports
    from ..state.listeners import Guard

    s = lab.settings
    server, creds = binaries.server(s.redis_server), credentials.load(s.home)
    token = secrets.token_hex(3)
    master_port, replica_port = ports.free_ports(2)
    nodes = {"master": Node(f"by-hand-{token}-master", master_port, s.home, conf="master"),
             "replica": Node(f"by-hand-{token}-replica", replica_port, s.home, conf="replica")}  # fmt: skip

    def connect(port, **options):
        return redis.Redis(host=s.host, port=port, password=creds.admin, redis_connect_func=Guard(s.home),
                           decode_responses=True, **options)  # fmt: skip

    procs, linked = [], False
    try:
        for role, node in nodes.items():
            text = runtime_config(node, s, creds, server.version)
            if role == "replica":  # (its conf/replica.conf names the lab's master: this one follows ours)
                text += f"replicaof {s.host} {master_port}\n"
            procs.append(launch(node, text, server, lambda p=node.port, **o: connect(p, **o),
                                args=("--daemonize", "no"), owned=True))  # fmt: skip
        deadline = time.monotonic() + 10
        with connect(replica_port, socket_timeout=2) as replica:
            while not linked and time.monotonic() < deadline:
                linked = replica.info("replication").get("master_link_status") == "up"
                time.sleep(0.05)
    finally:
        started = [proc for proc in procs if proc is not None]
        for proc in started:
            proc.terminate()  # SIGTERM: what Ctrl-C in its terminal does (a clean shutdown, logged); both at once
        for proc in started:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        logs = {role: _moments(node) for role, node in nodes.items()}
        for node in nodes.values():
            shutil.rmtree(node.data_dir, ignore_errors=True)
            for path in (node.runtime_conf, node.log_file, node.pid_file):
                path.unlink(missing_ok=True)
    home = shlex.quote(str(s.home))
    commands = (
        "./workbook down   # the lab's pair stops: the two terminals take its ports",
        f"redis-server {home}/master.runtime.conf --daemonize no --logfile ''   # terminal 1",
        f"redis-server {home}/replica.runtime.conf --daemonize no --logfile ''  # terminal 2",
        "# Ctrl-C in each terminal stops its server; ./workbook up brings the lab back",
    )
    return ByHand(commands, logs, linked)


def _moments(node) -> list[str]:
    """The log lines of `node` at the moments worth seeing, without the pid prefix."""
    try:
        lines = node.log_file.read_text(errors="replace").splitlines()
    except OSError:
        return []
    shown = []
    for line in lines:
        if any(moment in line for moment in LOG_MOMENTS):
            logged = re.match(r"\d+:\w \d+ \w+ \d+ (\S+ . .*)$", line)  # "pid:role date time level message"
            signal = re.match(r"\d+:signal-handler \(\d+\) (.*)$", line)
            shown.append(logged.group(1) if logged else signal.group(1) if signal else line)
    return shown
