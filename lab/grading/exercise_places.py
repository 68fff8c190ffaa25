"""Where the exercises' answers run: a user limited to the check's own keys on the lab's master, or scratch
servers the check starts and stops (children of this process, their files in the state directory), and a
MONITOR that sees the order of an answer's commands."""

from __future__ import annotations

import functools
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..core.i18n import _
from ..servers import clients
from ..servers.nodes import Node, launch
from ..servers.runtime_conf import scratch_config
from ..state import binaries, credentials, ports, settings
from ..state.listeners import Guard


class CountingDB:
    """A database stand-in with `.read(key)` that counts its reads."""

    def __init__(self, records: dict[str, str]):
        self.records, self.reads = dict(records), 0

    def read(self, key: str) -> str | None:
        self.reads += 1
        return self.records.get(key)

    def update(self, key: str, value: str) -> None:
        self.records[key] = value

    def export_state(self) -> dict:  # what the answer did to it, in the child process it runs in
        return {"records": {str(k): str(v) for k, v in self.records.items()}, "reads": int(self.reads)}

    def import_state(self, state: dict) -> None:
        self.records, self.reads = dict(state["records"]), int(state["reads"])


@contextmanager
def exercise_user() -> Iterator[tuple[object, str]]:
    """(a client logged in as a user limited to this check's keys, the key prefix); both gone afterwards."""
    token = secrets.token_hex(4)
    name, password, prefix = f"exercise-{token}", secrets.token_urlsafe(24), f"ex-{token}:"
    admin = clients.client("master")
    admin.execute_command("ACL", "SETUSER", name, "reset", "on", f">{password}", f"~cache:{prefix}*",
                          "resetchannels", "-@all", *credentials.APP_COMMANDS)  # fmt: skip
    user = clients.client_as(name, password, socket_timeout=3)
    try:
        yield user, prefix
    finally:
        user.close()
        admin.execute_command("ACL", "DELUSER", name)
        doomed = list(admin.scan_iter(match=f"cache:{prefix}*", count=1000))
        if doomed:
            admin.delete(*doomed)


@contextmanager
def scratch_servers(count: int, replicated: bool = False) -> Iterator[list]:
    """`count` throwaway redis-servers (loopback, one password in their 0600 configuration, no persistence),
    children of this process — they die with it — with their files in the state directory (`down` finds them);
    stopped and removed after. With `replicated`, the second follows the first. Admin clients to them only:
    never the lab's servers."""
    s = settings.load()
    s.ensure_home()
    token, password = secrets.token_hex(3), secrets.token_urlsafe(16)
    server = binaries.server(s.redis_server)
    started: list[tuple[Node, object]] = []
    try:
        for i, port in enumerate(ports.free_ports(count)):
            node = Node(f"scratch-{token}-{i}", port, s.home)
            follows = started[0][0].port if replicated and i else None
            connect = functools.partial(_scratch_client, port, password, s)
            started.append((node, None))
            started[-1] = (node, launch(node, scratch_config(node, password, follows), server, connect, owned=True))
        made = [_scratch_client(node.port, password, s) for node, _ in started]
        if replicated:
            wait_until(lambda: made[1].info("replication").get("master_link_status") == "up", _("no link"))
        yield made
    finally:
        for node, proc in started:
            if proc is not None:
                proc.kill()
                proc.wait(10)
            shutil.rmtree(node.data_dir, ignore_errors=True)
            for path in (node.runtime_conf, node.log_file, node.pid_file):
                path.unlink(missing_ok=True)


def _scratch_client(port: int, password: str, s: settings.Settings, **options):
    import redis

    options = {"socket_timeout": 2, "decode_responses": True, "retry": clients.no_retry(),
               "redis_connect_func": Guard(s.home), **clients.lean_handshake(), **options}  # fmt: skip
    return redis.Redis(host=s.host, port=port, password=password, **options)


def wait_until(condition: Callable[[], object], why: str, timeout: float = 10.0) -> None:
    import redis

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (redis.ConnectionError, redis.ResponseError):
            pass
        time.sleep(0.02)
    raise RuntimeError(why)


class Watcher:
    """A MONITOR connection read in a thread until stopped: the commands a server received, in order."""

    def __init__(self, server, seen: list):
        self.monitor = server.monitor()
        self.monitor.__enter__()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._read, args=(seen,), daemon=True)
        self.thread.start()

    def _read(self, seen: list) -> None:
        import redis

        try:
            while not self.done.is_set():
                seen.append(self.monitor.next_command()["command"].split())
        except (redis.RedisError, OSError, ValueError, AttributeError):
            pass  # stopped: the connection was closed under it

    def stop(self) -> None:
        self.done.set()
        try:
            self.monitor.connection.disconnect()
        except Exception:  # noqa: BLE001 - it is closing anyway
            pass
        self.thread.join(2)


def monitor(server, seen: list) -> Watcher:
    watcher = Watcher(server, seen)
    time.sleep(0.05)  # MONITOR is on before the answer runs
    return watcher
