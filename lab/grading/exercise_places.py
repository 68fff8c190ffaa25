"""Where the exercises' answers run: a user limited to the check's own keys on the lab's master, or scratch
servers the check starts and stops (children of this process, their files in the state directory), and a
MONITOR that sees the order of an answer's commands."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from ..servers import clients
from ..servers.scratch import scratch_servers, wait_until  # noqa: F401 - where the checks find them
from ..state import credentials


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
