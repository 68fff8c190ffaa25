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

from ..core.errors import LabError
from ..core.i18n import N_, _, translated_conf
from ..core.marks import Mark, check
from ..state import settings
from .results import Measured

ROLES = (N_("master"), N_("replica"))  # the roles' names, for the catalogue: shown through _()


def _markdown(text: str):
    from IPython.display import Markdown

    return Markdown(text)


def show_file(path: str | Path, language: str = "") -> object:
    """A file of the repository as a Markdown code block (e.g. `conf/master.conf`)."""
    full = Path(path) if Path(path).is_absolute() else settings.REPO_ROOT / path
    text = full.read_text()
    if full.parent == settings.CONF_DIR:  # the lab's conf files: their comments in the student's language
        text = translated_conf(full.name, text)
    return _markdown(f"**`{full.relative_to(settings.REPO_ROOT)}`**\n\n```{language}\n{text}```")


def show_source(obj: object) -> object:
    """The real code of a lab function, so the narrative never drifts from the library."""
    module = inspect.getmodule(obj)
    where = f"{module.__name__}" if module else ""
    said = _("from {module}").format(module=f"`{where}`")
    return _markdown(f"*{said}*\n\n```python\n{inspect.getsource(obj)}```")


def redact(text: str) -> str:
    """Hide every password in a Redis config text (`>secret` in ACL rules, `masterauth secret`)."""
    text = re.sub(r">\S+", ">***", text)
    return re.sub(r"(?m)^(masterauth|requirepass)\s+\S+", r"\1 ***", text)


def show_runtime_conf(role: str) -> object:
    """What the lab adds to `conf/<role>.conf` at start, with the passwords hidden."""
    from ..servers.nodes import pair_nodes

    node = pair_nodes(settings.load())[role]
    text = redact(node.runtime_conf.read_text()).replace(str(settings.REPO_ROOT), "<repo>")
    title = _("the {role}'s runtime configuration").format(role=_(role))
    return _markdown(f"**{title}** {_('(passwords hidden)')}\n\n```\n{text}```")


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
    more = "\n" + _("… {count} more").format(count=len(shown) - limit) if len(shown) > limit else ""
    print("\n".join(shown[:limit]) + more)
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
        terminal = _("# {role}'s terminal")
        said = [terminal.format(role=_(role)) + "\n" + "\n".join(lines) for role, lines in self.logs.items()]
        return _("In two terminals, from the clone:") + "\n" + "\n".join(self.commands) + "\n\n" + "\n\n".join(said)

    def checks(self) -> list[Mark]:
        synced = any("Finished with success" in line for line in self.logs.get("replica", []))
        lines = _("{count} log lines").format(count=sum(map(len, self.logs.values())))
        return [check("01.by_hand", _("By hand, from conf/: the replica logged its sync with the master"),
                      self.linked and synced, lines, "lab.up()")]  # fmt: skip


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
    commands = (  # shell lines, translated in their comments only
        "./workbook down   # " + _("the lab's pair stops: the two terminals take its ports"),
        f"redis-server {home}/master.runtime.conf --daemonize no --logfile ''   # " + _("terminal 1"),
        f"redis-server {home}/replica.runtime.conf --daemonize no --logfile ''  # " + _("terminal 2"),
        "# " + _("Ctrl-C in each terminal stops its server; ./workbook up brings the lab back"),
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


@dataclass(frozen=True)
class Benchmark(Measured):
    """`redis-benchmark` (C, one client) beside redis-py (Python, one client), on one throwaway server: p50 µs."""

    command: str
    c_us: dict
    py_us: dict
    missing: str = ""
    chapter = "04"

    @property
    def frame(self):
        import pandas as pd

        rows = [{"command": name, "redis-benchmark p50 µs": self.c_us[name], "redis-py p50 µs": self.py_us[name],
                 "redis-py ÷ redis-benchmark": self.py_us[name] / self.c_us[name]}
                for name in self.c_us if name in self.py_us and self.c_us[name] > 0]  # fmt: skip
        return pd.DataFrame(rows).round(2)

    def __str__(self) -> str:
        if self.missing:
            return self.missing
        pair = _("{command} {benchmark} µs against {python} µs")
        said = ", ".join(
            pair.format(command=n, benchmark=f"{self.c_us[n]:.0f}", python=f"{self.py_us[n]:.0f}")
            for n in self.c_us
            if n in self.py_us
        )
        compared = _("One client each, on the same server — redis-benchmark against redis-py, p50: {said}.")
        return f"$ {self.command}\n" + compared.format(said=said)

    def checks(self) -> list[Mark]:
        return []  # a comparison to read, not a checkpoint: not every machine has redis-benchmark


def redis_benchmark(lab, requests: int = 20000, samples: int = 2000) -> Benchmark:
    """Redis' own benchmark, one client (`-c 1`), on a throwaway server reached by a unix socket in the private
    state directory — no password needed, none on a command line — and redis-py's SET and GET, one at a time,
    on the same server: what the Python client adds to a round trip."""
    import csv
    import io
    import statistics

    import redis

    from ..servers.nodes import Node, launch
    from ..servers.runtime_conf import quote_path
    from ..state import binaries

    if lab.is_external:
        return Benchmark("", {}, {}, _("redis-benchmark runs on a throwaway server of this machine, next to the lab's "
                                       "own: with an external Redis it is skipped."))  # fmt: skip
    try:
        found = shutil.which("redis-benchmark") or _beside(binaries.cli(lab.settings.redis_cli).path, "redis-benchmark")
    except LabError:  # no redis-cli either: no Redis tools at all
        found = None
    if not found:
        return Benchmark("", {}, {}, _("redis-benchmark is not on this machine (it comes with Redis: `sudo apt install "
                                       "redis-tools`, `brew install redis`); the comparison is skipped."))  # fmt: skip
    s = lab.settings
    node = Node(f"bench-{secrets.token_hex(3)}", 0, s.home)
    sock = s.home / f"{node.role}.sock"
    text = "\n".join(["# Written by lab/lessons/notebook.py for redis-benchmark: a unix socket only, in the private "
                      "state directory", "port 0", f"unixsocket {quote_path(sock)}", "unixsocketperm 700",
                      f"dir {quote_path(node.data_dir)}", f"logfile {quote_path(node.log_file)}", 'save ""',
                      "appendonly no", 'proc-title-template "{title} {listen-addr} {server-mode} {config-file}"']) + "\n"  # fmt: skip

    def connect(**options):
        return redis.Redis(unix_socket_path=str(sock), **options)

    proc = launch(node, text, binaries.server(s.redis_server), connect, owned=True)
    try:
        command = ["redis-benchmark", "-s", str(sock), "-c", "1", "-n", str(requests), "-t", "set,get", "--csv"]
        done = subprocess.run([found, *command[1:]], capture_output=True, text=True, timeout=120)
        c_us = {}
        for row in csv.DictReader(io.StringIO(done.stdout)):
            if row.get("p50_latency_ms"):
                c_us[row["test"]] = float(row["p50_latency_ms"]) * 1000
            elif row.get("rps"):
                c_us[row["test"]] = 1e6 / float(row["rps"])  # (one client: a request every 1/rps s)
        client, timed = connect(decode_responses=True), {"SET": [], "GET": []}
        key, value = "key:__rand_int__", "xxx"  # what redis-benchmark writes (3 bytes)
        for _round in range(samples):
            for name, call in (("SET", lambda: client.set(key, value)), ("GET", lambda: client.get(key))):
                start = time.perf_counter()
                call()
                timed[name].append((time.perf_counter() - start) * 1e6)
        client.close()
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(node.data_dir, ignore_errors=True)
        for path in (node.runtime_conf, node.log_file, node.pid_file, sock):
            path.unlink(missing_ok=True)
    py_us = {name: statistics.median(values) for name, values in timed.items()}
    return Benchmark(" ".join(command[:-1]), c_us, py_us)


def _beside(path: str, name: str) -> str | None:
    candidate = Path(path).with_name(name)
    return str(candidate) if candidate.exists() else None
