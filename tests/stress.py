"""What a student's machine is like on a bad day, made on purpose: CPU burners beside the lab, and a Redis one
network hop away (a loopback TCP proxy that holds every chunk for a moment in each direction)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cpu_burners(count: int = 2, seconds: float = 900) -> Iterator[list[subprocess.Popen]]:
    """`count` processes that keep a core busy each (bounded in time), stopped on exit."""
    code = f"import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass"
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(count)]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(10)


class DelayProxy:
    """127.0.0.1:<port> → 127.0.0.1:<target>, adding `delay` seconds each way (like a managed Redis in the
    same region). Each chunk waits `delay` after it arrives before it is forwarded."""

    def __init__(self, target_port: int, delay: float = 0.0005):
        self.target, self.delay = target_port, delay
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closing = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True, name="delay-proxy").start()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._sockets.append(sock)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                time.sleep(self.delay)  # a network hop: ~0.5 ms here (sleep overshoots by a few µs)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._closing.set()
        self._listener.close()
        for sock in self._sockets:
            sock.close()


@contextmanager
def throwaway_redis(server_path: str, folder, extra: str = "") -> Iterator[tuple[int, str]]:
    """A redis-server that is not the lab's (a managed Redis, a classmate's), started the lab's one way: its
    password in a 0600 configuration file (never on a command line), a child of this process; `extra`: more
    configuration lines. (port, password)."""
    import secrets
    from pathlib import Path

    import redis

    from lab import binaries, ports
    from lab.servers.nodes import Node, launch
    from lab.servers.runtime_conf import scratch_config

    bus = 10000 if "cluster-enabled yes" in extra else 0  # a cluster node binds port + 10000 too: free it as well
    password, port = secrets.token_urlsafe(24), ports.free_ports(1, plus=bus)[0]
    node = Node("external", port, Path(folder))

    def connect(**options):
        return redis.Redis(host="127.0.0.1", port=port, password=password, **options)

    text = scratch_config(node, password) + extra
    proc = launch(node, text, binaries.find("redis-server", server_path), connect, owned=True)
    try:
        yield port, password
    finally:
        proc.kill()
        proc.wait(10)
