"""Throwaway redis-servers, started the lab's one way (`nodes.launch`, their password in a 0600 configuration):
loopback, no persistence, children of this process that die with it, their files in the state directory (so
that `down` finds them), removed after — an exercise's check, chapter 08's small caches. Never the lab's own."""

from __future__ import annotations

import functools
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..core.i18n import _
from ..state import binaries, ports, settings
from ..state.listeners import Guard
from . import clients
from .nodes import Node, launch
from .runtime_conf import scratch_config


@contextmanager
def scratch_servers(count: int, replicated: bool = False, extra: str = "") -> Iterator[list]:
    """`count` throwaway redis-servers (loopback, one password in their 0600 configuration, no persistence),
    children of this process — they die with it — with their files in the state directory (`down` finds them);
    stopped and removed after. With `replicated`, the second follows the first. Admin clients to them only:
    never the lab's servers. `extra`: more configuration lines for each (e.g. `maxmemory 2mb`)."""
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
            started[-1] = (
                node,
                launch(node, scratch_config(node, password, follows) + extra, server, connect, owned=True),
            )
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
